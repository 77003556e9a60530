package oracle

import (
	"strings"
	"testing"
)

// recorder stands in for *testing.T to observe RequireOrSkip's decision.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Skip(args ...any)                  { r.skipped = args[0].(string) }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = format }

func TestRequireOrSkipPolicy(t *testing.T) {
	t.Setenv("PATH", "")
	if err := Available(); err == nil || !strings.Contains(err.Error(), "node not found") {
		t.Fatalf("Available with empty PATH = %v", err)
	}
	for _, tc := range []struct {
		ci, require string
		fail        bool
	}{
		{"", "", false}, {"false", "", false}, {"true", "", true}, {"", "1", true}, {"1", "", true},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv("KVPACK_REQUIRE_ORACLE", tc.require)
		r := &recorder{TB: t}
		RequireOrSkip(r)
		if tc.fail && (r.failed == "" || r.skipped != "") {
			t.Errorf("CI=%q require=%q: want fatal, got skip %q", tc.ci, tc.require, r.skipped)
		}
		if !tc.fail && (r.skipped == "" || !strings.HasPrefix(r.skipped, "ORACLE SKIPPED: node not found")) {
			t.Errorf("CI=%q require=%q: want loud skip, got skip %q fatal %q", tc.ci, tc.require, r.skipped, r.failed)
		}
	}
}

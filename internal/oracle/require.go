package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// StoriesModel is the llama2.c stories260K fixture, relative to the module root.
const StoriesModel = "../shared/data/models/stories260K.gguf"

// Required reports whether a missing oracle must fail tests instead of skipping
// them: CI set (to anything but "false"/"0") or KVPACK_REQUIRE_ORACLE=1.
func Required() bool {
	ci := os.Getenv("CI")
	return (ci != "" && ci != "false" && ci != "0") || os.Getenv("KVPACK_REQUIRE_ORACLE") == "1"
}

// RequireOrSkip skips the test, loudly, when the oracle is unavailable; under CI (or
// KVPACK_REQUIRE_ORACLE=1) it fails instead, so CI can never silently skip.
func RequireOrSkip(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		missing(t, err)
	}
}

// RequireModel resolves path (relative paths against the module root) and checks
// that the file exists, with RequireOrSkip's skip-or-fail policy. It returns the
// absolute path.
func RequireModel(t testing.TB, path string) string {
	t.Helper()
	if !filepath.IsAbs(path) {
		root, err := ModuleRoot()
		if err != nil {
			missing(t, err)
			return ""
		}
		path = filepath.Join(root, path)
	}
	if _, err := os.Stat(path); err != nil {
		missing(t, fmt.Errorf("model file: %w", err))
	}
	return path
}

func missing(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("ORACLE REQUIRED (CI=%q, KVPACK_REQUIRE_ORACLE=%q) BUT UNAVAILABLE: %v",
			os.Getenv("CI"), os.Getenv("KVPACK_REQUIRE_ORACLE"), err)
		return
	}
	msg := fmt.Sprintf("ORACLE SKIPPED: %v -- llama.cpp comparisons did NOT run (set CI=true or KVPACK_REQUIRE_ORACLE=1 to make this fatal)", err)
	fmt.Fprintln(os.Stderr, "*** "+msg)
	t.Skip(msg)
}

package main

import (
	"strings"
	"testing"

	"github.com/kvpack/kvpack/internal/oracle"
)

func TestParseBytes(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1GiB", 1 << 30, false}, {"512MiB", 512 << 20, false}, {"64KB", 64000, false}, {"1e9", 1e9, false},
		{"2M", 2 << 20, false}, {"100", 100, false}, {"-1GiB", 0, true}, {"lots", 0, true}, {"", 0, true},
	}
	for _, c := range cases {
		got, err := parseBytes(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.bad)
		}
	}
}

// TestRunErrors: bad invocations fail with a message naming the problem.
func TestRunErrors(t *testing.T) {
	stories := oracle.RequireModel(t, oracle.StoriesModel)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--model", stories}, "--prompt is required"},
		{[]string{"--model", stories, "--prompt", "hi", "-n", "100000"}, "context length exceeded"},
		{[]string{"--model", stories, "--prompt", "hi", "--kv-blocks", "5"}, "kv cache full"},
		{[]string{"--model", stories, "--prompt", "hi", "--kv-dtype", "q3"}, "q3"},
		{[]string{"--model", "/nonexistent.gguf", "--prompt", "hi"}, "nonexistent.gguf"},
		{[]string{"--model", stories, "--prompt", "hi", "--temp", "-1"}, "temperature"},
	}
	for _, c := range cases {
		err := runCmd(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run %v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestHasFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--threads", "1,2"}, false},
		{[]string{"--context", "8192"}, true},
		{[]string{"-context=512"}, true},
		{[]string{"--policy=none"}, true},
		{[]string{"--contexts", "1"}, false},
		{[]string{"8192", "context"}, false},
	} {
		if got := hasFlag(tc.args, "context", "policy", "kv-budget"); got != tc.want {
			t.Errorf("hasFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestBenchMembwRejectsBadSize(t *testing.T) {
	for _, size := range []string{"12", "1KiB", "junk"} {
		if err := benchMembw([]string{"--size", size}); err == nil {
			t.Errorf("--size %s: no error", size)
		}
	}
}

// TestBenchContextErrors: impossible sweeps fail before any prefill.
func TestBenchContextErrors(t *testing.T) {
	stories := oracle.RequireModel(t, oracle.StoriesModel)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", stories, "--context", "100000", "--llamacpp=false"}, "trained context"},
		{[]string{"--model", stories, "--context", "64", "-n", "64", "--llamacpp=false"}, "must exceed -n"},
	} {
		if err := benchCmd(append([]string{"decode"}, c.args...)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("bench decode %v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

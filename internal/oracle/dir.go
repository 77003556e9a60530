package oracle

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// minNodeMajor is node-llama-cpp 3.21.1's engines.node requirement.
const minNodeMajor = 20

const installHint = "run scripts/setup-oracle.sh from the module root"

// ModuleRoot walks up from the working directory to the directory holding go.mod.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("oracle: working directory: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("oracle: no go.mod above %s", wd)
		}
		dir = parent
	}
}

// Dir locates tools/oracle under the module root.
func Dir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "tools", "oracle")
	if _, err := os.Stat(filepath.Join(dir, "oracle.mjs")); err != nil {
		return "", fmt.Errorf("oracle: %s/oracle.mjs missing: %w", dir, err)
	}
	return dir, nil
}

// Available reports nil when node (>= 20) is on PATH and node-llama-cpp is installed
// in tools/oracle/node_modules; otherwise an error saying what is missing and how to
// install it.
func Available() error {
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("node not found on PATH: install Node.js >= %d and npm, then %s: %w", minNodeMajor, installHint, err)
	}
	if err := checkNodeVersion(node); err != nil {
		return err
	}
	dir, err := Dir()
	if err != nil {
		return err
	}
	pkg := filepath.Join(dir, "node_modules", "node-llama-cpp", "package.json")
	if _, err := os.Stat(pkg); err != nil {
		return fmt.Errorf("node-llama-cpp not installed in %s: %s: %w", dir, installHint, err)
	}
	return nil
}

func checkNodeVersion(node string) error {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return fmt.Errorf("node --version failed (%s): %w", node, err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return fmt.Errorf("node --version printed %q: %w", v, err)
	}
	if n < minNodeMajor {
		return errors.New("node " + v + " is too old: node-llama-cpp 3.21.1 needs Node.js >= 20")
	}
	return nil
}

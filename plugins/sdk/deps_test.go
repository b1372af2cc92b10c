package sdk_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTheSDKLinksNoRunbookCompiler: every plugin binary links the SDK, so
// what the SDK imports is linked, initialised and hashed at every plugin
// start. The runbook compiler (package schema with expr, yaml and the cron
// parser) is the host's business: the SDK uses the standard-library-only
// dataschema instead.
func TestTheSDKLinksNoRunbookCompiler(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/stewardhq/steward/plugins/sdk").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/stewardhq/steward/schema" || strings.HasPrefix(pkg, "github.com/expr-lang/") ||
			strings.HasPrefix(pkg, "github.com/robfig/cron") || strings.Contains(pkg, "yaml") {
			t.Errorf("the SDK links %s", pkg)
		}
	}
}

package schema_test

import (
	"testing"

	"github.com/expr-lang/expr"
	"github.com/stewardhq/steward/schema"
	"github.com/stewardhq/steward/schema/schematest"
)

func TestGeneratedRunbookIsValid(t *testing.T) {
	for _, n := range []int{2, 5, 20, 100} {
		src := schematest.Runbook("gen", n)
		if _, diags := schema.Check("gen.yaml", []byte(src), nil); len(diags) > 0 {
			t.Fatalf("%d steps:\n%s", n, diags.Render())
		}
	}
}

// BenchmarkCheck20Steps loads, validates and compiles a 20-step runbook
// holding about 60 expressions.
func BenchmarkCheck20Steps(b *testing.B) {
	src := []byte(schematest.Runbook("gen", 20))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := schema.Check("gen.yaml", src, nil); len(diags) > 0 {
			b.Fatal(diags)
		}
	}
}

// BenchmarkLoad20Steps is the YAML walk alone, without validation.
func BenchmarkLoad20Steps(b *testing.B) {
	src := []byte(schematest.Runbook("gen", 20))
	b.ReportAllocs()
	for b.Loop() {
		if _, diags := schema.Load("gen.yaml", src); len(diags) > 0 {
			b.Fatal(diags)
		}
	}
}

// BenchmarkCompileExpr is one typical condition compiled by expr, with a
// map environment, for comparison with BenchmarkCheck20Steps.
func BenchmarkCompileExpr(b *testing.B) {
	env := map[string]any{"inputs": map[string]any{"amount": 1}, "steps": map[string]any{}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expr.Compile(`inputs.amount > 100 && steps.lookup.outputs.status in ["captured", "authorized"]`, expr.Env(env)); err != nil {
			b.Fatal(err)
		}
	}
}

package safetensors

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestTinyStories656K reads the real fixture: a 2-layer llama exported by
// transformers 4.41 (tied embeddings: only lm_head.weight is stored).
func TestTinyStories656K(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(wd, "..", "..", "..", "shared", "data", "models", "tinystories-656k", "model.safetensors")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("FIXTURE MISSING, SKIPPING: %s (%v)", path, err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string][]int{"lm_head.weight": {2048, 128}, "model.norm.weight": {128}}
	for l := range 2 {
		p := "model.layers." + string(rune('0'+l)) + "."
		for n, s := range map[string][]int{
			"input_layernorm.weight": {128}, "post_attention_layernorm.weight": {128},
			"mlp.down_proj.weight": {128, 384}, "mlp.gate_proj.weight": {384, 128}, "mlp.up_proj.weight": {384, 128},
			"self_attn.q_proj.weight": {128, 128}, "self_attn.k_proj.weight": {64, 128},
			"self_attn.v_proj.weight": {64, 128}, "self_attn.o_proj.weight": {128, 128},
		} {
			want[p+n] = s
		}
	}
	if names := f.Names(); len(names) != len(want) || names[0] != "lm_head.weight" {
		t.Errorf("names %v", names)
	}
	for name, shape := range want {
		tn, ok := f.Tensor(name)
		if !ok || tn.DType != "F32" || !reflect.DeepEqual(tn.Shape, shape) || len(tn.Data) != 4*tn.Elements() {
			t.Errorf("%s: %s %v (%v), want F32 %v", name, tn.DType, tn.Shape, ok, shape)
		}
	}
	if md := f.Metadata(); md["format"] != "pt" || md["model.embed_tokens.weight"] != "lm_head.weight" {
		t.Errorf("metadata %v", md)
	}
	norm, _ := f.Tensor("model.norm.weight")
	vals, err := norm.Float32s()
	if err != nil || len(vals) != 128 {
		t.Fatalf("Float32s: %d values, %v", len(vals), err)
	}
	for i, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v == 0 {
			t.Fatalf("norm[%d] = %g", i, v)
		}
	}
}

package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kvpack/kvpack/internal/gguf"
	"github.com/kvpack/kvpack/internal/model"
)

func inspectCmd(args []string) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	tensors := fs.Bool("tensors", false, "list every tensor (default: a summary by type)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path := defaultModel
	if fs.NArg() > 0 {
		path = fs.Arg(0)
	}
	m, err := model.Load(path)
	if err != nil {
		return err
	}
	defer m.Close()
	printConfig(m)
	if f, err := gguf.Open(path); err == nil {
		defer f.Close()
		printTensors(f, *tensors)
	}
	return nil
}

func printConfig(m *model.Model) {
	c := m.Config
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(w, "%s\t%v\n", k, v) }
	row("source", m.Source)
	row("architecture", c.Arch)
	row("weights", m.FileType)
	row("layers", c.Layers)
	row("embedding", c.Dim)
	row("feed-forward", c.FFN)
	row("heads (q / kv)", fmt.Sprintf("%d / %d (group %d)", c.Heads, c.KVHeads, c.GroupSize()))
	row("head dim", c.HeadDim)
	row("vocab", c.Vocab)
	row("context", c.Context)
	row("rope", fmt.Sprintf("%s, theta %g, %d dims, freq factors: %v", c.Rope, c.RopeTheta, c.RopeDim, c.RopeFreqs != nil))
	row("rms eps", c.NormEps)
	row("q/k norm", c.QKNorm)
	row("tied output", c.TiedOutput)
	row("weight bytes", fmt.Sprintf("%d (%.1f MiB)", m.WeightBytes(), float64(m.WeightBytes())/(1<<20)))
	row("kv bytes/token", fmt.Sprintf("%d (f16), %d (f32)", c.KVBytesPerToken(2), c.KVBytesPerToken(4)))
	w.Flush()
}

func printTensors(f *gguf.File, all bool) {
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	defer w.Flush()
	if all {
		fmt.Fprintln(w, "\ntensor\ttype\tshape\tbytes")
		for _, t := range f.Tensors() {
			fmt.Fprintf(w, "%s\t%v\t%v\t%d\n", t.Name, t.Type, t.Shape, t.Size)
		}
		return
	}
	type agg struct{ n, bytes uint64 }
	byType := map[string]*agg{}
	for _, t := range f.Tensors() {
		k := t.Type.String()
		if byType[k] == nil {
			byType[k] = &agg{}
		}
		byType[k].n++
		byType[k].bytes += t.Size
	}
	keys := make([]string, 0, len(byType))
	for k := range byType {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\ntensors\t%d (%s)\n", len(f.Tensors()), strings.Join(keys, ", "))
	for _, k := range keys {
		fmt.Fprintf(w, "  %s\t%d tensors, %d bytes\n", k, byType[k].n, byType[k].bytes)
	}
}

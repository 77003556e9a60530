package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/kvpack/kvpack/internal/membw"
	"github.com/kvpack/kvpack/internal/parallel"
)

// benchMembw prints the machine's memory read bandwidth per thread count.
func benchMembw(args []string) error {
	fs := flag.NewFlagSet("bench membw", flag.ContinueOnError)
	threadList := fs.String("threads", "1,2", "comma-separated thread counts")
	size := fs.String("size", "512MiB", "buffer streamed per pass (far beyond the caches)")
	reps := fs.Int("reps", 5, "passes per thread count (best is reported)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	threads, err := parseInts(*threadList)
	if err != nil {
		return err
	}
	n, err := parseBytes(*size)
	if err != nil {
		return err
	}
	if n < 1<<20 || n > 1<<36 {
		return fmt.Errorf("bench membw: --size %s: want 1MiB..64GiB", *size)
	}
	m := membw.New(int(n))
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "threads\tbuffer MiB\tread GB/s\t")
	for _, th := range threads {
		r := measureMembw(m, th, *reps)
		fmt.Fprintf(w, "%d\t%d\t%.1f\t\n", r.Threads, r.Bytes>>20, r.GBps)
	}
	return w.Flush()
}

// measureMembw reads m's buffer on a fresh pool of the given size.
func measureMembw(m *membw.Meter, threads, reps int) membw.Result {
	p := parallel.New(threads)
	defer p.Close()
	return m.Read(p, reps)
}

// Command kvpack runs GGUF language models on the CPU with a paged, compressible
// KV cache. `kvpack help` lists the subcommands.
package main

import (
	"fmt"
	"os"
)

// command is one subcommand.
type command struct {
	name, summary string
	run           func(args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "generate text from a prompt", runCmd},
		{"inspect", "print a model's architecture, hyperparameters and tensors", inspectCmd},
		{"serve", "OpenAI-compatible HTTP server with continuous batching and /metrics", serveCmd},
		{"bench", "benchmarks: `bench decode` (kvpack vs llama.cpp; with --context: decode vs context and compression), `bench membw` (memory bandwidth), `bench serve` (HTTP load, policies)", benchCmd},
		{"eval", "quality of KV compression vs full attention: fidelity, recall, divergence, gsm8k", evalCmd},
		{"calibrate", "compute TriAttention query statistics for a model", calibrateCmd},
		{"help", "show this help", func([]string) error { usage(os.Stdout); return nil }},
	}
}

func usage(w *os.File) {
	fmt.Fprintln(w, "kvpack: LLM inference with KV-cache compression that frees memory.")
	fmt.Fprintln(w, "\nUsage: kvpack <command> [flags]   (kvpack <command> -h for its flags)\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nThe default model is %s (fetch it with scripts/fetch-model.sh).\n", defaultModel)
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" {
		name = "help"
	}
	for _, c := range commands {
		if c.name == name {
			if err := c.run(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "kvpack %s: %v\n", name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "kvpack: unknown command %q\n\n", name)
	usage(os.Stderr)
	os.Exit(2)
}

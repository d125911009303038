// Command benchtable runs Prowl's benchmarks and prints one table (`make bench`). Each row measures
// Prowl and a baseline doing the same work in the same run and reports the ratio.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/configload"
	"github.com/prowl-ci/prowl/bench/decoratejobs"
)

func main() {
	child := flag.String("child", "", "internal: run one measured workload in this process and exit (config-prowl, config-baseline)")
	runs := flag.Int("runs", 7, "timed runs per measurement; the median is reported")
	flag.Parse()
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *child != "" {
		os.Exit(runChild(root, *child))
	}
	fmt.Printf("Prowl benchmarks on %s/%s, %d CPUs (%s)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	var results []bench.Result
	for _, b := range []func(root string, runs int) (bench.Result, error){configLoad, decorateJobs} {
		r, err := b(root, *runs)
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipped: %v\n", err)
			continue
		}
		results = append(results, r)
	}
	fmt.Println("| benchmark | Prowl | baseline | ratio | target | met | notes |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range results {
		met := "yes"
		if !r.Met {
			met = "no"
		}
		fmt.Printf("| %s | %v | %v | %.2f | %s | %s | %s |\n", r.Name, r.Prowl.Round(1e6), r.Baseline.Round(1e6), r.Ratio, r.Target, met, r.Notes)
	}
}

func configLoad(root string, runs int) (bench.Result, error) {
	in, err := configload.Find(root)
	if err != nil {
		return bench.Result{}, err
	}
	prowl, err := bench.Measure(runs, func() error { return configload.Prowl(in) })
	if err != nil {
		return bench.Result{}, fmt.Errorf("config load: %w", err)
	}
	base, err := bench.Measure(runs, func() error { return configload.Baseline(in) })
	if err != nil {
		return bench.Result{}, fmt.Errorf("config load baseline: %w", err)
	}
	prowlRSS, err := childRSS("config-prowl")
	if err != nil {
		return bench.Result{}, err
	}
	baseRSS, err := childRSS("config-baseline")
	if err != nil {
		return bench.Result{}, err
	}
	ratio := float64(prowl.Median) / float64(base.Median)
	return bench.Result{
		Name:     "config load: test-infra, 3,849 jobs",
		Prowl:    prowl.Median,
		Baseline: base.Median,
		Ratio:    ratio,
		Target:   "ratio ≤ 1.0, peak RSS < 100 MB",
		Met:      ratio <= 1.0 && prowlRSS < 100,
		Notes: fmt.Sprintf("Prowl %d allocs, %.0f MiB allocated, peak heap %.0f MiB, peak RSS %.0f MB; baseline %d allocs, peak heap %.0f MiB, peak RSS %.0f MB",
			prowl.Allocs, float64(prowl.AllocBytes)/(1<<20), prowl.PeakHeapMiB, prowlRSS, base.Allocs, base.PeakHeapMiB, baseRSS),
	}, nil
}

func decorateJobs(root string, runs int) (bench.Result, error) {
	corpus, err := decoratejobs.Load(root)
	if err != nil {
		return bench.Result{}, err
	}
	prowl, err := bench.Measure(runs, corpus.Prowl)
	if err != nil {
		return bench.Result{}, fmt.Errorf("build and decorate: %w", err)
	}
	base, err := bench.Measure(runs, corpus.Baseline)
	if err != nil {
		return bench.Result{}, err
	}
	n := float64(corpus.Jobs())
	return bench.Result{
		Name:     fmt.Sprintf("build + decorate: %d test-infra jobs → ProwJob + Pod, encoded", corpus.Jobs()),
		Prowl:    prowl.Median,
		Baseline: base.Median,
		Ratio:    float64(prowl.Median) / float64(base.Median),
		Target:   "report time and allocations per job",
		Met:      true,
		Notes: fmt.Sprintf("Prowl %.0f µs and %.0f allocs per job; baseline (copy the pod spec into a Pod, encode it) %.0f µs and %.0f allocs per job",
			float64(prowl.Median.Microseconds())/n, float64(prowl.Allocs)/n, float64(base.Median.Microseconds())/n, float64(base.Allocs)/n),
	}, nil
}

// childRSS runs one workload in a fresh process and returns its peak RSS in MB, so that each
// side's memory is measured alone. The child reports its own VmHWM: the rusage of a child counts
// pages it shared with the parent at fork.
func childRSS(workload string) (float64, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, "-child", workload)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", workload, err)
	}
	var kb float64
	if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "%f", &kb); err != nil {
		return 0, fmt.Errorf("%s printed %q, want its peak RSS in kB", workload, out)
	}
	return kb / 1000, nil
}

// peakRSSkB reads this process's peak resident set size (VmHWM) in kB.
func peakRSSkB() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "0"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), " kB")
		}
	}
	return "0"
}

func runChild(root, workload string) int {
	in, err := configload.Find(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	run := map[string]func(configload.Inputs) error{"config-prowl": configload.Prowl, "config-baseline": configload.Baseline}[workload]
	if run == nil {
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", workload)
		return 2
	}
	if err := run(in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(peakRSSkB())
	return 0
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "model name") {
			if _, v, ok := strings.Cut(line, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

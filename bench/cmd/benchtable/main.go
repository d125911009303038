// Command benchtable runs Prowl's benchmarks and prints one table (`make bench`). Each row measures
// Prowl and a baseline doing the same work in the same run and reports the ratio.
package main

import (
	"context"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/prowl-ci/prowl/bench"
	"github.com/prowl-ci/prowl/bench/configload"
	"github.com/prowl-ci/prowl/bench/decoratejobs"
	"github.com/prowl-ci/prowl/bench/hookbench"
	"github.com/prowl-ci/prowl/bench/horologiumpass"
	"github.com/prowl-ci/prowl/bench/plankburst"
	"github.com/prowl-ci/prowl/bench/podutilsbench"
	"github.com/prowl-ci/prowl/bench/upstart"
	"github.com/prowl-ci/prowl/internal/testutil"
)

func main() {
	runs := flag.Int("runs", 7, "timed runs per measurement; the median is reported")
	only := flag.String("only", "", "run only the benchmarks whose function name contains this (configLoad, decorateJobs, horologiumPass, plankBurst, upStart, entrypoint, sidecar, censor, hook, deck, nodeImages)")
	flag.Parse()
	ctrl.SetLogger(logr.Discard())
	root, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	repoRoot = root
	tmp, err := os.MkdirTemp("", "prowl-benchtable-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	rssBinary, rssCensorBinary = filepath.Join(tmp, "rss"), filepath.Join(tmp, "rsscensor")
	for bin, pkg := range map[string]string{rssBinary: "./bench/cmd/rss", rssCensorBinary: "./bench/cmd/rsscensor"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	fmt.Printf("Prowl benchmarks on %s/%s, %d CPUs (%s)\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	var results []bench.Result
	all := []struct {
		name string
		run  func(root string, runs int) (bench.Result, error)
	}{
		{"configLoad", configLoad}, {"decorateJobs", decorateJobs}, {"horologiumPass", horologiumPass}, {"plankBurst", plankBurst},
		{"upStart", upStart}, {"entrypointTrue", entrypointTrue}, {"entrypoint100MB", entrypoint100MB}, {"sidecarUpload", sidecarUpload},
		{"censorMemory", censorMemory}, {"hookLatency", hookLatency}, {"deckList", deckList},
		{"spyglassPages", spyglassPages},
		{"sinkerPass", sinkerPass},
		{"imageBuild", imageBuild},
		{"nodeImages", nodeImages},
	}
	for _, bm := range all {
		if *only != "" && !strings.Contains(strings.ToLower(bm.name), strings.ToLower(*only)) {
			continue
		}
		b := bm.run
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

func horologiumPass(root string, runs int) (bench.Result, error) {
	s, err := horologiumpass.New(root, 50000)
	if err != nil {
		return bench.Result{}, err
	}
	prowl, err := bench.Measure(runs, s.Pass)
	if err != nil {
		return bench.Result{}, err
	}
	base, err := bench.Measure(runs, s.Baseline)
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Result{
		Name: "horologium pass: 1,335 periodics, 50,000 ProwJobs in the cache", Prowl: prowl.Median, Baseline: base.Median,
		Ratio: float64(prowl.Median) / float64(base.Median), Target: "≤ 100 ms", Met: prowl.Median <= 100*time.Millisecond,
		Notes: fmt.Sprintf("%d allocs, %.1f MiB allocated per pass; baseline lists and groups every ProwJob, as Prow's Horologium does", prowl.Allocs, float64(prowl.AllocBytes)/(1<<20)),
	}, nil
}

// plankBurst runs 2,000 ProwJobs through Plank and through a plain client-go loop against one
// real API server, then a burst of 500 for Plank's latency.
func hookLatency(root string, _ int) (bench.Result, error) {
	env, err := testutil.StartEnv()
	if err != nil {
		return bench.Result{}, fmt.Errorf("hook latency needs the control plane (make bench builds it): %w", err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	const events, rate = 500, 50
	if _, err := hookbench.Baseline(ctx, env, root, 200, rate); err != nil { // warm the API server up
		return bench.Result{}, err
	}
	prowl, err := hookbench.Hook(ctx, env, root, events, rate)
	if err != nil {
		return bench.Result{}, err
	}
	base, err := hookbench.Baseline(ctx, env, root, events, rate)
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Result{
		Name:  fmt.Sprintf("hook: signed webhook posted → ProwJob created, %d events at %d/s over loopback (envtest, fake GitHub), p99", events, rate),
		Prowl: prowl.P99, Baseline: base.P99, Ratio: float64(prowl.P99) / float64(base.P99),
		Met:    prowl.P99 <= 100*time.Millisecond,
		Target: "p99 ≤ 100 ms",
		Notes:  fmt.Sprintf("Hook+Trigger: %s; baseline (the same ProwJobs created directly at the same rate): %s", prowl, base),
	}, nil
}

func plankBurst(_ string, _ int) (bench.Result, error) {
	env, err := testutil.StartEnv()
	if err != nil {
		return bench.Result{}, fmt.Errorf("plank burst needs the control plane (make bench builds it): %w", err)
	}
	defer func() { _ = env.Stop() }()
	ctx := context.Background()
	// A fresh API server's first thousand writes are slower than the rest; warm it up once, so
	// that neither side pays for it.
	if _, err := plankburst.Baseline(ctx, env, 300); err != nil {
		return bench.Result{}, err
	}
	prowl, err := plankburst.Plank(ctx, env, 2000)
	if err != nil {
		return bench.Result{}, err
	}
	base, err := plankburst.Baseline(ctx, env, 2000)
	if err != nil {
		return bench.Result{}, err
	}
	burst, err := plankburst.Plank(ctx, env, 500)
	if err != nil {
		return bench.Result{}, err
	}
	prowlBin := filepath.Join(filepath.Dir(rssBinary), "prowl")
	if out, err := exec.Command("go", "build", "-o", prowlBin, "./cmd/prowl").CombinedOutput(); err != nil {
		return bench.Result{}, fmt.Errorf("build prowl: %w\n%s", err, out)
	}
	rss, err := plankburst.ManagerRSS(ctx, env, prowlBin, 20000)
	if err != nil {
		return bench.Result{}, err
	}
	throughput := float64(base.Total) / float64(prowl.Total)
	return bench.Result{
		Name: "plank: 2,000 ProwJobs at once → every Pod created, every ProwJob pending (envtest)", Prowl: prowl.Total, Baseline: base.Total,
		Ratio:  float64(prowl.Total) / float64(base.Total),
		Met:    throughput >= 0.8 && burst.P99 <= 5*time.Second && rss <= 300,
		Target: "throughput ≥ 0.8 of the plain loop; p99 ≤ 5 s for a burst of 500; RSS ≤ 300 MB with 20,000 ProwJobs cached",
		Notes: fmt.Sprintf("throughput %.2f× the loop; 2,000: %s (%.0f jobs/s); loop: %s; burst of 500: %s; %d QPS, burst %d, %d workers on both sides; controller-manager peak RSS with 20,000 ProwJobs cached %.0f MB",
			throughput, prowl, 2000/prowl.Total.Seconds(), base, burst, plankburst.QPS, plankburst.Burst, plankburst.Workers, rss),
	}, nil
}

// upStart runs `prowl up` three times on a fresh data dir with 20 periodics, binaries built.
func upStart(root string, _ int) (bench.Result, error) {
	if os.Geteuid() != 0 {
		return bench.Result{}, fmt.Errorf("prowl up's local node needs root (mount namespaces)")
	}
	bin, err := os.MkdirTemp("", "prowl-up-bin-")
	if err != nil {
		return bench.Result{}, err
	}
	defer func() { _ = os.RemoveAll(bin) }()
	if err := upstart.Build(root, bin); err != nil {
		return bench.Result{}, err
	}
	var finals, readies []time.Duration
	var overheads []time.Duration
	for range 3 {
		r, err := upstart.Run(root, bin, 20)
		if err != nil {
			return bench.Result{}, err
		}
		finals, readies = append(finals, r.Final), append(readies, r.Ready)
		overheads = append(overheads, r.Overheads...)
	}
	sort.Slice(finals, func(i, j int) bool { return finals[i] < finals[j] })
	sort.Slice(readies, func(i, j int) bool { return readies[i] < readies[j] })
	sort.Slice(overheads, func(i, j int) bool { return overheads[i] < overheads[j] })
	final, ready := finals[1], readies[1]
	return bench.Result{
		Name: "prowl up: start → 20 periodics final (local control plane and node)", Prowl: final, Baseline: ready,
		Ratio: float64(final) / float64(ready), Target: "≤ 15 s to the first job final", Met: final <= 15*time.Second,
		Notes: fmt.Sprintf("baseline: start → control plane ready (%v); node overhead, Pod bound → test container started: p50 %v, p99 %v over %d Pods; median of 3 runs",
			ready.Round(time.Millisecond), upstart.Percentile(overheads, 50).Round(time.Millisecond), upstart.Percentile(overheads, 99).Round(time.Millisecond), len(overheads)),
	}, nil
}

func entrypointTrue(root string, runs int) (bench.Result, error) {
	return entrypointOverhead(root, 5*runs, "command `true`", "true")
}

func entrypoint100MB(root string, runs int) (bench.Result, error) {
	return entrypointOverhead(root, runs, "a command writing 100 MB", "head", "-c", "104857600", "/dev/zero")
}

func entrypointOverhead(root string, runs int, what string, args ...string) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "prowl-bench-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	bin, err := podutilsbench.BuildEntrypoint(root, dir)
	if err != nil {
		return bench.Result{}, err
	}
	prowl, err := bench.Measure(runs, podutilsbench.ThroughEntrypoint(bin, dir, args...))
	if err != nil {
		return bench.Result{}, err
	}
	base, err := bench.Measure(runs, podutilsbench.Directly(args...))
	if err != nil {
		return bench.Result{}, err
	}
	return bench.Result{
		Name: "entrypoint overhead: " + what, Prowl: prowl.Median, Baseline: base.Median,
		Ratio: float64(prowl.Median) / float64(base.Median), Target: "report the median ratio", Met: true,
		Notes: fmt.Sprintf("median of %d runs; the entrypoint tees output to the process log and writes the marker", runs),
	}, nil
}

func sidecarUpload(_ string, runs int) (bench.Result, error) {
	dir, err := os.MkdirTemp("", "prowl-bench-")
	if err != nil {
		return bench.Result{}, err
	}
	defer os.RemoveAll(dir)
	if err := podutilsbench.MakeArtifacts(dir, 1000, 200<<10); err != nil {
		return bench.Result{}, err
	}
	n := max(runs/2, 3)
	prowl, err := bench.Measure(n, podutilsbench.SidecarUpload(dir, dir))
	if err != nil {
		return bench.Result{}, err
	}
	base, err := bench.Measure(n, podutilsbench.RawCopy(dir, dir))
	if err != nil {
		return bench.Result{}, err
	}
	throughput := float64(base.Median) / float64(prowl.Median)
	return bench.Result{
		Name: "sidecar upload: 1,000 files, 200 MB, to file://", Prowl: prowl.Median, Baseline: base.Median,
		Ratio: float64(prowl.Median) / float64(base.Median), Target: "throughput ≥ 0.8 of a raw gocloud copy", Met: throughput >= 0.8,
		Notes: fmt.Sprintf("throughput %.2f× the raw copy (which copies one file after another); median of %d runs", throughput, n),
	}, nil
}

func censorMemory(_ string, _ int) (bench.Result, error) {
	start := time.Now()
	rss, err := childRSS("censor-1g")
	if err != nil {
		return bench.Result{}, err
	}
	took := time.Since(start)
	return bench.Result{
		Name: "sidecar censoring a 1 GB log: peak RSS", Prowl: took, Baseline: 0, Ratio: 0,
		Target: "peak RSS < 64 MB", Met: rss < 64,
		Notes: fmt.Sprintf("peak RSS %.0f MB (writing the log and censoring it in place, in one process)", rss),
	}, nil
}

// childRSS runs one workload in a fresh process of its own small binary (bench/cmd/rss) and
// returns its peak RSS in MB, so that each side's memory is measured alone.
func childRSS(workload string) (float64, error) {
	cmd := exec.Command(rssBinary, workload, repoRoot)
	if workload == "censor-1g" {
		cmd = exec.Command(rssCensorBinary)
	}
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

var rssBinary, rssCensorBinary, repoRoot string

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

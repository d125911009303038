package bench

import (
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Measurement is the median time of several runs, and the allocations and peak heap of one more.
type Measurement struct {
	Median      time.Duration
	Allocs      uint64
	AllocBytes  uint64
	PeakHeapMiB float64
}

// Measure runs f once to warm up, n times for time, and once more, sampled, for allocations and
// the peak live heap (the sampling reads runtime/metrics, which does not stop the world, but it
// still stays out of the timed runs).
func Measure(n int, f func() error) (Measurement, error) {
	var m Measurement
	if err := f(); err != nil {
		return m, err
	}
	times := make([]time.Duration, 0, n)
	for range n {
		runtime.GC()
		start := time.Now()
		if err := f(); err != nil {
			return m, err
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	m.Median = times[len(times)/2]

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := samplePeakHeap()
	err := f()
	peak := stop()
	runtime.ReadMemStats(&after)
	m.Allocs = after.Mallocs - before.Mallocs
	m.AllocBytes = after.TotalAlloc - before.TotalAlloc
	m.PeakHeapMiB = float64(peak) / (1 << 20)
	return m, err
}

// MeasureCPU runs f once to warm up, then n times, and returns the median of the process's CPU
// time (user and system, every thread: the collector's work that f's allocations cause counts)
// over each run of f alone. A full collection before each run keeps the garbage of earlier work
// out of it, and keeps that collection itself out of the figure.
func MeasureCPU(n int, f func() error) (time.Duration, error) {
	if err := f(); err != nil {
		return 0, err
	}
	cpus := make([]time.Duration, 0, n)
	for range n {
		runtime.GC()
		before := ProcessCPU()
		if err := f(); err != nil {
			return 0, err
		}
		cpus = append(cpus, ProcessCPU()-before)
	}
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	return cpus[len(cpus)/2], nil
}

// ProcessCPU is this process's user and system CPU time so far.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// samplePeakHeap samples the live heap every millisecond until stop is called, which returns the
// peak in bytes.
func samplePeakHeap() (stop func() uint64) {
	var peak uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: heapMetric}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak {
				peak = v
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-finished; return peak }
}

// PeakRSSkB reads this process's peak resident set size (VmHWM) in kB, for a child process to
// report its own memory.
func PeakRSSkB() string {
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

package bench

import (
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strings"
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

package main

import (
	"fmt"
	"time"

	"github.com/udpchat/udpchat/transport/fault"
)

// FaultConfig is the JSON form of the faults every client is behind: the
// same both ways, each client with its own seed (clientSeed).
type FaultConfig struct {
	Loss      float64 `json:"loss"`
	Duplicate float64 `json:"duplicate"`
	Reorder   float64 `json:"reorder"`
	DelayMS   float64 `json:"delay_ms"`
	JitterMS  float64 `json:"jitter_ms"`
	Seed      uint64  `json:"seed"`
}

func faultConfigOf(f fault.Faults, seed uint64) *FaultConfig {
	if f == (fault.Faults{}) {
		return nil
	}
	return &FaultConfig{Loss: f.Loss, Duplicate: f.Duplicate, Reorder: f.Reorder,
		DelayMS: float64(f.Delay) / 1e6, JitterMS: float64(f.Jitter) / 1e6, Seed: seed}
}

// FaultCounts are fault.Counts with JSON names.
type FaultCounts struct {
	Sent       uint64 `json:"sent"`
	Dropped    uint64 `json:"dropped"`
	Duplicated uint64 `json:"duplicated"`
	Reordered  uint64 `json:"reordered"`
	Delayed    uint64 `json:"delayed"`
}

func (c *FaultCounts) add(o fault.Counts) {
	c.Sent += o.Sent
	c.Dropped += o.Dropped
	c.Duplicated += o.Duplicated
	c.Reordered += o.Reordered
	c.Delayed += o.Delayed
}

// FaultStats are what the fault transports did, summed over the clients:
// Send to what the clients wrote, Receive to what reached their sockets.
type FaultStats struct {
	Send    FaultCounts `json:"send"`
	Receive FaultCounts `json:"receive"`
}

// clientSeed is client i's fault seed, drawn from the run's: splitmix64 of
// their sum, so that neighbouring runs' seeds do not share clients' faults.
func clientSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// checkFaults names the first flag whose value the fault transport cannot
// take.
func checkFaults(f fault.Faults) error {
	for _, p := range []struct {
		flag string
		v    float64
	}{{"loss", f.Loss}, {"dup", f.Duplicate}, {"reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) { // also NaN
			return fmt.Errorf("-%s: want a probability from 0 to 1, got %g", p.flag, p.v)
		}
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"delay", f.Delay}, {"jitter", f.Jitter}} {
		if d.v < 0 {
			return fmt.Errorf("-%s: want a duration of 0 or more, got %v", d.flag, d.v)
		}
	}
	return nil
}

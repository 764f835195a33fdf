package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, which
// is 100 on every Linux architecture Go supports (sysconf is out of reach
// without cgo).
const clockTick = 10 * time.Millisecond

// ProcSample is a process's CPU time and memory at one moment, read from
// /proc (Linux only).
type ProcSample struct {
	CPU    time.Duration // user + system, all threads
	RSSKiB uint64        // VmRSS
	HWMKiB uint64        // VmHWM: the peak of VmRSS
}

// readProc samples process pid.
func readProc(pid int) (ProcSample, error) {
	var s ProcSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read process stats: %w", err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count fields from after its closing one. utime and stime are fields
	// 14 and 15, so the 12th and 13th after it.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("read process stats: malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("read process stats: short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("read process stats: bad utime/stime in /proc/%d/stat", pid)
	}
	s.CPU = time.Duration(utime+stime) * clockTick
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read process status: %w", err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst = &s.RSSKiB
		case "VmHWM":
			dst = &s.HWMKiB
		default:
			continue
		}
		num, _, _ := strings.Cut(strings.TrimSpace(val), " ")
		*dst, _ = strconv.ParseUint(num, 10, 64)
	}
	return s, nil
}

// machineCPU is the CPU time all cores of the machine spent busy since
// boot (everything /proc/stat counts but idle and iowait), and how many
// cores it counts: the bench and its server share the machine with
// whatever else runs, and a run's figures mean little without knowing
// how busy the rest of it was.
func machineCPU() (busy time.Duration, cores int, err error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("read machine stats: %w", err)
	}
	for line := range strings.SplitSeq(string(stat), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] != "cpu" && strings.HasPrefix(f[0], "cpu"):
			cores++
		case len(f) > 5 && f[0] == "cpu":
			for i, v := range f[1:] {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return 0, 0, fmt.Errorf("read machine stats: bad /proc/stat: %q", line)
				}
				// Not idle and iowait; not guest and guest_nice, which
				// user and nice include already.
				if i < 8 && i != 3 && i != 4 {
					busy += time.Duration(n) * clockTick
				}
			}
		}
	}
	return busy, cores, nil
}

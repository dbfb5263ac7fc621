package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// metrics maps a unit (Go benchmark units such as "ns/op", "samples/s",
// "MB/s", or a peer's key such as "fit_s") to a value.
type metrics map[string]float64

// goBench is one result line of `go test -bench`.
type goBench struct {
	Name    string // full name without the -GOMAXPROCS suffix
	Iters   int
	Metrics metrics
}

// parseGoBench reads the result lines of a benchmark binary's output, run
// with GOMAXPROCS=procs (Go appends "-procs" to names when procs > 1). A
// failed benchmark ("--- FAIL") is an error carrying its messages.
func parseGoBench(out string, procs int) ([]goBench, error) {
	var res []goBench
	var fail []string
	inFail := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trim, "--- FAIL"):
			inFail = true
			fail = append(fail, trim)
			continue
		case strings.HasPrefix(trim, "--- "):
			inFail = false
			continue
		case inFail && strings.HasPrefix(line, "    "):
			fail = append(fail, trim)
			continue
		}
		inFail = false
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's own log line, or a name printed before its result
		}
		iters, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		b := goBench{Name: f[0], Iters: iters, Metrics: metrics{}}
		if procs > 1 {
			b.Name = strings.TrimSuffix(b.Name, "-"+strconv.Itoa(procs))
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", line, f[i], err)
			}
			b.Metrics[f[i+1]] = v
		}
		res = append(res, b)
	}
	if len(fail) > 0 {
		return res, fmt.Errorf("benchmark failed: %s", strings.Join(fail, "; "))
	}
	return res, nil
}

// findBench returns the metrics of the benchmark called name.
func findBench(res []goBench, name string) (metrics, error) {
	for _, b := range res {
		if b.Name == name {
			return b.Metrics, nil
		}
	}
	names := make([]string, len(res))
	for i, b := range res {
		names[i] = b.Name
	}
	return nil, fmt.Errorf("benchmark %s not in the output (have %v)", name, names)
}

// benchPattern is the -test.bench pattern selecting exactly the benchmark
// with the given full name (the pattern is matched per /-separated level).
func benchPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// parseKeyValues reads the one line of a peer script that starts with
// prefix ("torch", "sklearn", "dgemm") and returns its numeric key=value
// fields and all fields as strings.
func parseKeyValues(out, prefix string) (metrics, map[string]string, error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != prefix {
			continue
		}
		num, str := metrics{}, map[string]string{}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, nil, fmt.Errorf("%s line %q: field %q is not key=value", prefix, line, kv)
			}
			str[k] = v
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				num[k] = x
			}
		}
		return num, str, nil
	}
	return nil, nil, fmt.Errorf("no line starting with %q in the output: %s", prefix, tail(out, 300))
}

// need checks that m holds every key.
func need(m metrics, what string, keys ...string) error {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("%s: no %s in the output", what, k)
		}
	}
	return nil
}

var statusLine = regexp.MustCompile(`(\d+) fresh, (\d+) stale, (\d+) missing`)

// parseStatus reads the summary line of `bfc status`.
func parseStatus(out string) (fresh, stale, missing int, err error) {
	m := statusLine.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("no \"N fresh, N stale, N missing\" line in the output of bfc status: %s", tail(out, 300))
	}
	fresh, _ = strconv.Atoi(m[1])
	stale, _ = strconv.Atoi(m[2])
	missing, _ = strconv.Atoi(m[3])
	return fresh, stale, missing, nil
}

// tail returns the last n bytes of s, on one line.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

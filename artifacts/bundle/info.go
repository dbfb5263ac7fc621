package bundle

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// BuildInfo describes the program that wrote a bundle (build.json).
type BuildInfo struct {
	GoVersion   string            `json:"go"`
	Path        string            `json:"path"`   // main package path
	Module      ModuleVersion     `json:"module"` // main module
	VCSRevision string            `json:"vcs_revision,omitempty"`
	VCSTime     string            `json:"vcs_time,omitempty"`
	VCSDirty    bool              `json:"vcs_dirty"`
	VCSKnown    bool              `json:"vcs_known"` // false when built without VCS stamping (-buildvcs=false)
	BuildTags   string            `json:"build_tags"`
	BLAS        string            `json:"blas"` // BLAS backend linked in
	GOOS        string            `json:"goos"`
	GOARCH      string            `json:"goarch"`
	Settings    map[string]string `json:"settings"` // every build setting (-tags, CGO_ENABLED, GOAMD64, vcs.*, ...)
	Deps        []ModuleVersion   `json:"deps"`     // every module linked in, with its go.sum hash
	// Tree is the project's git working tree when the bundle was
	// written. It stands in for the VCS stamp of the binary when that is
	// missing (a build with -buildvcs=false, or outside a checkout); it
	// describes the sources and pipeline.toml, not necessarily the binary.
	Tree *TreeInfo `json:"tree,omitempty"`
}

// TreeInfo describes a git working tree.
type TreeInfo struct {
	Revision string   `json:"revision"`
	Dirty    bool     `json:"dirty"`
	Changes  []string `json:"changes,omitempty"` // `git status --porcelain` lines, at most 100
}

// ModuleVersion is one module of a build.
type ModuleVersion struct {
	Path    string         `json:"path"`
	Version string         `json:"version"`
	Sum     string         `json:"sum,omitempty"`
	Replace *ModuleVersion `json:"replace,omitempty"`
}

func moduleVersion(m *debug.Module) ModuleVersion {
	v := ModuleVersion{Path: m.Path, Version: m.Version, Sum: m.Sum}
	if m.Replace != nil {
		r := moduleVersion(m.Replace)
		v.Replace = &r
	}
	return v
}

// ReadBuildInfo describes the running program from runtime/debug's build
// information; blas names the BLAS backend linked in.
func ReadBuildInfo(blas string) BuildInfo {
	b := BuildInfo{GoVersion: runtime.Version(), BLAS: blas, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Settings: map[string]string{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = bi.GoVersion
	b.Path = bi.Path
	b.Module = moduleVersion(&bi.Main)
	for _, d := range bi.Deps {
		b.Deps = append(b.Deps, moduleVersion(d))
	}
	for _, s := range bi.Settings {
		b.Settings[s.Key] = s.Value
		switch s.Key {
		case "vcs.revision":
			b.VCSRevision, b.VCSKnown = s.Value, true
		case "vcs.time":
			b.VCSTime = s.Value
		case "vcs.modified":
			b.VCSDirty = s.Value == "true"
		case "-tags":
			b.BuildTags = s.Value
		}
	}
	return b
}

// MachineInfo describes the machine that wrote a bundle (machine.json).
type MachineInfo struct {
	Host        string `json:"host"`
	OS          string `json:"os"`     // GOOS and distribution
	Kernel      string `json:"kernel"` // release
	Arch        string `json:"arch"`
	CPUModel    string `json:"cpu_model"`
	CPUs        int    `json:"cpus"` // logical CPUs
	MemoryBytes int64  `json:"memory_bytes"`
}

// ReadMachineInfo describes this machine from what the OS tells (on
// Linux, /proc and /etc/os-release); unknown fields stay empty.
func ReadMachineInfo() MachineInfo {
	m := MachineInfo{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU()}
	m.Host, _ = os.Hostname()
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = cString(u.Release[:])
	}
	m.CPUModel = CPUModel()
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		if n, err := strconv.ParseInt(strings.TrimSuffix(kb, " kB"), 10, 64); err == nil {
			m.MemoryBytes = n << 10
		}
	}
	if d := procField("/etc/os-release", "PRETTY_NAME"); d != "" {
		m.OS += " (" + strings.Trim(d, `"`) + ")"
	}
	return m
}

// CPUModel is this machine's CPU model as /proc/cpuinfo names it ("model
// name" of the first processor), or "" where the OS does not say.
var CPUModel = sync.OnceValue(func() string { return procField("/proc/cpuinfo", "model name") })

// procField returns the value of the first "key: value" or "key=value"
// line of file whose key is key.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			k, v, ok = strings.Cut(sc.Text(), "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func cString[T int8 | uint8](b []T) string {
	var s strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		s.WriteByte(byte(c))
	}
	return s.String()
}

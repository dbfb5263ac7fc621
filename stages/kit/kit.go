// Package kit is the contract between the bfc engine and the stage kinds.
//
// A stage kind (target, train, sweep, figure, ...) is a Go value that
// implements Kind: it names itself, declares its parameters with types,
// defaults and ranges, and runs against an Env. The engine (package
// pipeline) validates pipeline.toml against the declared parameters,
// computes the stage key, and hands the kind an Env through which it reads
// its verified inputs and writes its outputs. A kind never touches the
// store, the file system of the project or the clock: everything that can
// change its result reaches it through Env, which is what makes the stage
// key a complete description of the computation.
//
// # Dynamic probes
//
// The DAG of pipeline.toml is static, but some experiments decide what to
// compute from what they computed: an adaptive search for the smallest
// sample size n that reaches an error threshold doubles n, then bisects,
// and which n it tries depends on the errors it saw. Env.Probe is how a
// kind asks for such a computation. A probe is a stage point of another
// kind (or the same), named by its kind, params, seed and inputs, and it
// is keyed exactly as a static point of that kind with those components
// would be: Probe resolves and validates params against the kind's
// declaration (defaults filled in, ranges and Validator checked, unknown
// names refused), derives the key from the kind, the params, the seed, the
// data of the inputs and the kind's code identity, takes the key's lock,
// returns the stored result when it is committed with intact outputs, and
// otherwise runs the kind in the caller's process, within the caller's CPU
// grant (Threads), committing it with the same protocol as any point. So:
//
//   - every probe is its own cached point: refining a search or extending
//     its budget reuses every probe already computed, a killed run resumes
//     from the probes it committed, and a probe equals the static point
//     with the same components (same key, same bytes);
//   - the caller's key does not depend on its probes (they are not known
//     when it is computed); its manifest lists the probes it used (name
//     and key), so gc keeps the probes of live points, archives bundle
//     them, status and explain list them (-v) and reproduce recomputes
//     them. A kind that probes must be deterministic in what it probes, as
//     in everything else: the same inputs must lead to the same probes.
//
// The probe's seed is the caller's stage seed unless params holds "seed"
// (an integer, as a grid axis would set it). Its labels are its inputs'
// labels with the params given (and the seed, if given) as axes; its name,
// shown in progress lines ("probe sweep[n=2048]"), is the kind with the
// given params. inputs must be Inputs the engine handed out: the caller's
// own inputs or results of earlier probes. A kind that reads external
// files (Filer) cannot be probed. A probe may itself probe; a probe whose
// key is that of a point it is computed for is an error, not a deadlock.
//
// The kit package is deliberately small and stable: every kind imports it,
// so an edit here changes the code identity of every stage.
package kit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/apache/arrow/go/v15/arrow"
)

// Kind is one stage kind. Implementations live in sub-packages of stages/
// named after the kind, and are listed in stages/all.
type Kind interface {
	// Name is the value of `kind = "..."` in pipeline.toml.
	Name() string
	// Doc is a one-paragraph description shown by `bfc kinds`.
	Doc() string
	// Params declares every parameter the kind accepts.
	Params() []Param
	// Run computes the stage's outputs. It must be deterministic: the
	// same params, seed and input contents give the same output bytes,
	// whatever GOMAXPROCS or Env.Threads is.
	Run(env Env) error
}

// Validator is implemented by kinds with constraints that involve more
// than one parameter. The returned error should be a *FieldError so that
// the engine can point at the offending line of pipeline.toml.
type Validator interface {
	Validate(p Params) error
}

// InputChecker is implemented by kinds whose parameters must agree with
// the parameters of the points they read (a sweep cannot train on more
// samples than its target has). The engine calls CheckInputs for every
// point when it builds the graph, before anything runs, with the points
// the stage joins as inputs (not those it gathers). The returned error
// should be a *FieldError naming the kind's own parameter, so that the
// engine can point at its line of pipeline.toml.
type InputChecker interface {
	CheckInputs(p Params, inputs []InputParams) error
}

// InputParams is what an InputChecker sees of one input point.
type InputParams struct {
	Point  string // its id, for messages: "E5_target[d=8,seed=1]"
	Kind   string
	Params Params
}

// Threader is implemented by kinds that can use more than one CPU. The
// engine grants at most the returned number of CPU tokens (0 means all of
// the run's budget) and reports the grant as Env.Threads.
type Threader interface {
	Threads(p Params) int
}

// Filer is implemented by kinds that read files outside the store (a
// dataset shipped by Debian, a paper template). The engine hashes each
// returned path into the stage key, so editing the file reruns the stage,
// and only these paths may be opened with Env.ReadFile.
type Filer interface {
	Files(p Params) []string
}

// Env is what a running stage sees of the world.
type Env interface {
	// Context is cancelled when the run is interrupted; long loops
	// should check it between epochs or points.
	Context() context.Context
	// Params are the stage's resolved, validated parameters.
	Params() Params
	// Seed is the stage's effective seed, already mixed with the
	// pipeline's master seed. Derive random streams with RNG.
	Seed() uint64
	// Inputs are the upstream stage points, in a deterministic order.
	Inputs() []Input
	// Threads is the number of CPUs the stage may use.
	Threads() int
	// Write stores one output table under name. The engine adds the
	// stage key and params to the schema metadata and owns rec after
	// the call.
	Write(name string, rec arrow.Record) error
	// Publish stores a rendered file (a figure, a paper fragment) that
	// the engine copies to the directory named by dir after the run.
	// name must be a plain file name.
	Publish(dir PublishDir, name string, data []byte) error
	// ReadFile reads one of the paths the kind declared with Filer.
	ReadFile(path string) ([]byte, error)
	// Progress reports done out of total units of work (epochs,
	// points); msg is a short status such as "loss 0.031".
	Progress(done, total int, msg string)
	// Logf writes a line to the stage's log.
	Logf(format string, args ...any)
	// Probe returns the result of the stage point of kind at params
	// (plus "seed"), reading inputs, computing it first if it is not in
	// the store (see "Dynamic probes" above). The Input it returns can be
	// read like any input, and passed to further probes.
	Probe(kind string, params map[string]any, inputs []Input) (Input, error)
}

// PublishDir names a directory of the project that receives published files.
type PublishDir string

const (
	Figures PublishDir = "figures"
	Paper   PublishDir = "paper"
)

// Input is one upstream stage point.
type Input interface {
	// Kind is the upstream stage's kind.
	Kind() string
	// Labels are the upstream point's grid coordinates (axis -> value),
	// including the axes it inherited from its own inputs.
	Labels() map[string]string
	// Params are the upstream stage's resolved parameters.
	Params() Params
	// Seed is the upstream stage's stage seed (before mixing).
	Seed() int64
	// Key is the upstream point's stage key (hex).
	Key() string
	// Outputs lists the names of the upstream outputs.
	Outputs() []string
	// Read returns the named output, verified against its content hash.
	// The caller must Release the record.
	Read(name string) (arrow.Record, error)
}

// FieldError is a problem with one parameter.
type FieldError struct {
	Field string // parameter name
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errorf returns a *FieldError for field.
func Errorf(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// RNG returns a random stream determined by seed and a label naming its
// purpose ("target/weights", "train/init"), so that the streams a stage
// uses do not depend on the order in which it draws from them.
func RNG(seed uint64, stream string) *rand.Rand {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], seed)
	h.Write(b[:])
	h.Write([]byte(stream))
	s := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(s[0:8]), binary.LittleEndian.Uint64(s[8:16])))
}

// InputsOfKind returns the inputs whose kind is kind, in order.
func InputsOfKind(env Env, kind string) []Input {
	var out []Input
	for _, in := range env.Inputs() {
		if in.Kind() == kind {
			out = append(out, in)
		}
	}
	return out
}

// OneInput returns the single input of the given kind, or an error that
// says how many there were.
func OneInput(env Env, kind string) (Input, error) {
	ins := InputsOfKind(env, kind)
	if len(ins) != 1 {
		return nil, fmt.Errorf("want exactly one input of kind %q, have %d", kind, len(ins))
	}
	return ins[0], nil
}

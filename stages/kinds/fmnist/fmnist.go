// Package fmnist implements the stage kind "fmnist": it reads the
// Fashion-MNIST data set (Xiao, Rasul and Vollgraf 2017; 60,000 training and
// 10,000 test images of 28x28 grey levels in 10 clothing classes) from the
// IDX files that Debian's package dataset-fashion-mnist installs under
// /usr/share/datasets/fashion-mnist, and writes it as Arrow tables for the
// real-data experiment E8 (docs/science.md#experiments).
//
// # Files and checks
//
// The kind reads four files from the directory dir, gzipped (as Debian ships
// them, names ending in .gz) or not:
//
//	train-images-idx3-ubyte  train-labels-idx1-ubyte
//	t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte
//
// It declares them with kit.Filer, so the engine hashes their contents into
// the stage key, and reads them only through Env.ReadFile. Every file is
// checked before use, and every problem is an error naming the file: a gzip
// stream that does not decompress, a wrong magic number (0x00000803 for
// images, 0x00000801 for labels: unsigned bytes, 3 or 1 dimensions), a
// header or payload shorter than the header promises (truncated) or longer,
// a label outside 0..9, a label count different from the image count, and
// training and test images of different sizes.
//
// # Preprocessing
//
// The first n_train training and the first n_test test images are used (0
// means all; the files are already in random class order, so a prefix is
// close to class-balanced, see the "classes" table). Grey levels are scaled
// to [0, 1], optionally average-pooled over pool x pool blocks (pool = 2
// gives 14x14 images: the first layer of a fully connected classifier, the
// costliest matrix product of a step, becomes 4 times cheaper, and the
// downsampled images keep the garment shapes), and normalised with
// statistics of the training subset only (the test images use the same
// ones):
//
//	unit    x                          (pixels in [0, 1])
//	global  (x - mean) / sd             one mean and sd over all pixels
//	pixel   (x_j - mean_j) / max(sd_j, 0.01)   per pixel; the floor keeps
//	        nearly constant border pixels (sd below 2.5 grey levels) from
//	        being blown up
//
// The default, global, keeps the relative brightness of the pixels, so that
// first-layer weights drawn as images look like the garments they respond
// to.
//
// # Outputs
//
//	train, test  x (n x d matrix, d = rows*cols after pooling, row-major
//	             pixels), y (int64 class 0..9), index (int64 row in the file)
//	classes      class, name, n_train, n_test (one row per class)
//	norm         feature, mean, scale: x = (pixel in [0, 1] - mean) / scale
//	summary      one row: n_train, n_test, rows, cols, d, pool, normalize,
//	             classes, file_train, file_test (images in the files)
//
// Load reads these tables back for a downstream kind (stages/kinds/classify).
package fmnist

import (
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/bfc-repro/bfc/stages/kit"
)

// DefaultDir is where Debian's dataset-fashion-mnist installs the IDX files.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// Classes is the number of Fashion-MNIST classes.
const Classes = 10

// ClassNames are the Fashion-MNIST class names, indexed by label.
var ClassNames = [Classes]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// The base names of the four IDX files.
const (
	TrainImages = "train-images-idx3-ubyte"
	TrainLabels = "train-labels-idx1-ubyte"
	TestImages  = "t10k-images-idx3-ubyte"
	TestLabels  = "t10k-labels-idx1-ubyte"
)

// Normalisations lists the values of the normalize parameter.
func Normalisations() []string { return []string{"global", "pixel", "unit"} }

// pixelSDFloor is the smallest per-pixel standard deviation used by the
// "pixel" normalisation, on the [0, 1] scale (about 2.5 grey levels).
const pixelSDFloor = 0.01

// Kind is the stage kind "fmnist".
type Kind struct{}

// Name implements kit.Kind.
func (Kind) Name() string { return "fmnist" }

// Doc implements kit.Kind.
func (Kind) Doc() string {
	return "Reads Fashion-MNIST from the IDX files of Debian's dataset-fashion-mnist (headers and sizes checked), " +
		"takes the first n_train/n_test images, optionally average-pools them, and normalises them with training " +
		"statistics. Outputs: train, test (x matrix, y, index), classes, norm, summary."
}

// Params implements kit.Kind.
func (Kind) Params() []kit.Param {
	return []kit.Param{
		kit.StringParam("dir", DefaultDir, "directory of the four IDX files"),
		kit.BoolParam("gzip", true, "the file names end in .gz (as Debian ships them); the contents are sniffed either way"),
		kit.IntParam("n_train", 0, "use the first n training images (0: all)").In(0, 1<<31-1),
		kit.IntParam("n_test", 0, "use the first n test images (0: all)").In(0, 1<<31-1),
		kit.StringParam("normalize", "global", "global (one mean/sd), pixel (per-pixel mean/sd) or unit (grey levels / 255)").
			OneOf(Normalisations()...),
		kit.IntParam("pool", 1, "average-pool pool x pool blocks (1: none; 2: 28x28 -> 14x14); must divide the image size").In(1, 28),
	}
}

// settings is the typed form of an fmnist stage's parameters.
type settings struct {
	Dir  string
	Gzip bool
	Config
}

func settingsOf(p kit.Params) settings {
	return settings{Dir: p.String("dir"), Gzip: p.Bool("gzip"),
		Config: Config{NTrain: p.Int("n_train"), NTest: p.Int("n_test"), Normalize: p.String("normalize"), Pool: p.Int("pool")}}
}

// Files implements kit.Filer: the four IDX files under dir.
func (Kind) Files(p kit.Params) []string {
	s := settingsOf(p)
	return filePaths(s.Dir, s.Gzip)
}

// filePaths returns the paths of train images, train labels, test images
// and test labels, in that order.
func filePaths(dir string, gz bool) []string {
	ext := ""
	if gz {
		ext = ".gz"
	}
	out := make([]string, 0, 4)
	for _, b := range []string{TrainImages, TrainLabels, TestImages, TestLabels} {
		out = append(out, filepath.Join(dir, b+ext))
	}
	return out
}

// Validate implements kit.Validator.
func (Kind) Validate(p kit.Params) error {
	if settingsOf(p).Dir == "" {
		return kit.Errorf("dir", "must name a directory")
	}
	return nil
}

// Split is one preprocessed part (train or test) of the data set.
type Split struct {
	N, D  int
	X     []float64 // N x D, row-major
	Y     []int     // classes 0..Classes-1
	Index []int     // row of each image in its IDX file
}

// Norm is the affine map from pooled [0, 1] pixels to the features:
// x_j = (pixel_j - Mean[j]) / Scale[j].
type Norm struct {
	Mean, Scale []float64
}

// Data is a preprocessed data set.
type Data struct {
	Train, Test Split
	Rows, Cols  int // image size after pooling; D = Rows*Cols
	Norm        Norm
	// FileTrain and FileTest are the numbers of images in the files
	// (before taking the prefixes).
	FileTrain, FileTest int
}

// Config says how to preprocess the raw files.
type Config struct {
	NTrain, NTest int    // prefixes to use (0: all)
	Normalize     string // one of Normalisations()
	Pool          int    // pooling block size (1: none)
}

// rawSet is one split as read from its two files.
type rawSet struct {
	img    *images
	labels []byte
}

// readSet reads and cross-checks one image file and its label file.
func readSet(read func(string) ([]byte, error), imgPath, lblPath string) (*rawSet, error) {
	b, err := read(imgPath)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", imgPath, err)
	}
	img, err := parseImages(imgPath, b)
	if err != nil {
		return nil, err
	}
	if b, err = read(lblPath); err != nil {
		return nil, fmt.Errorf("read %s: %w", lblPath, err)
	}
	lbl, err := parseLabels(lblPath, b, Classes)
	if err != nil {
		return nil, err
	}
	if len(lbl) != img.N {
		return nil, fmt.Errorf("label count mismatch: %s has %d labels, %s has %d images", lblPath, len(lbl), imgPath, img.N)
	}
	return &rawSet{img: img, labels: lbl}, nil
}

// Read reads and preprocesses the four IDX files named by paths (train
// images, train labels, test images, test labels, as Files returns them)
// through read.
func Read(read func(string) ([]byte, error), paths []string, cfg Config) (*Data, error) {
	if len(paths) != 4 {
		return nil, fmt.Errorf("fmnist: want 4 file paths, have %d", len(paths))
	}
	train, err := readSet(read, paths[0], paths[1])
	if err != nil {
		return nil, fmt.Errorf("fmnist: %w", err)
	}
	test, err := readSet(read, paths[2], paths[3])
	if err != nil {
		return nil, fmt.Errorf("fmnist: %w", err)
	}
	return preprocess(train, test, paths, cfg)
}

func preprocess(train, test *rawSet, paths []string, cfg Config) (*Data, error) {
	ti, si := train.img, test.img
	if ti.Rows != si.Rows || ti.Cols != si.Cols {
		return nil, fmt.Errorf("fmnist: %s holds %dx%d images, %s holds %dx%d", paths[0], ti.Rows, ti.Cols, paths[2], si.Rows, si.Cols)
	}
	p := cfg.Pool
	if p < 1 || ti.Rows%p != 0 || ti.Cols%p != 0 {
		return nil, fmt.Errorf("fmnist: pool %d does not divide the %dx%d images", p, ti.Rows, ti.Cols)
	}
	nTrain, err := prefix(cfg.NTrain, ti.N, "n_train", paths[0])
	if err != nil {
		return nil, err
	}
	nTest, err := prefix(cfg.NTest, si.N, "n_test", paths[2])
	if err != nil {
		return nil, err
	}
	d := &Data{Rows: ti.Rows / p, Cols: ti.Cols / p, FileTrain: ti.N, FileTest: si.N}
	d.Train = pooled(ti, train.labels, nTrain, p)
	d.Test = pooled(si, test.labels, nTest, p)
	norm, err := fitNorm(d.Train, cfg.Normalize)
	if err != nil {
		return nil, err
	}
	d.Norm = norm
	norm.apply(d.Train)
	norm.apply(d.Test)
	return d, nil
}

// prefix resolves a subset size (0: all) against the n images of file.
func prefix(want, n int, param, file string) (int, error) {
	if want == 0 {
		return n, nil
	}
	if want > n {
		return 0, fmt.Errorf("fmnist: %s = %d exceeds the %d images of %s", param, want, n, file)
	}
	return want, nil
}

// pooled returns the first n images of img scaled to [0, 1] and averaged
// over p x p blocks.
func pooled(img *images, labels []byte, n, p int) Split {
	rows, cols := img.Rows/p, img.Cols/p
	D := rows * cols
	s := Split{N: n, D: D, X: make([]float64, n*D), Y: make([]int, n), Index: make([]int, n)}
	div := 255 * float64(p*p) // divide rather than multiply by 1/div: x = v/255 exactly when p = 1
	for i := range n {
		src := img.Pix[i*img.Rows*img.Cols : (i+1)*img.Rows*img.Cols]
		dst := s.X[i*D : (i+1)*D]
		for r := range img.Rows {
			for c := range img.Cols {
				dst[(r/p)*cols+c/p] += float64(src[r*img.Cols+c])
			}
		}
		for j := range dst {
			dst[j] /= div
		}
		s.Y[i] = int(labels[i])
		s.Index[i] = i
	}
	return s
}

// fitNorm computes the normalisation of kind from the training split.
func fitNorm(s Split, kind string) (Norm, error) {
	D := s.D
	n := Norm{Mean: make([]float64, D), Scale: make([]float64, D)}
	switch kind {
	case "unit":
		for j := range n.Scale {
			n.Scale[j] = 1
		}
	case "global":
		var sum, ssq float64
		for _, v := range s.X {
			sum += v
		}
		mean := sum / float64(len(s.X))
		for _, v := range s.X {
			ssq += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ssq / float64(len(s.X)))
		if !(sd > 0) {
			return Norm{}, fmt.Errorf("fmnist: the %d training images are all one grey level; cannot normalise", s.N)
		}
		for j := range n.Mean {
			n.Mean[j], n.Scale[j] = mean, sd
		}
	case "pixel":
		for i := range s.N {
			for j, v := range s.X[i*D : (i+1)*D] {
				n.Mean[j] += v
			}
		}
		for j := range n.Mean {
			n.Mean[j] /= float64(s.N)
		}
		for i := range s.N {
			for j, v := range s.X[i*D : (i+1)*D] {
				n.Scale[j] += (v - n.Mean[j]) * (v - n.Mean[j])
			}
		}
		for j := range n.Scale {
			n.Scale[j] = max(math.Sqrt(n.Scale[j]/float64(s.N)), pixelSDFloor)
		}
	default:
		return Norm{}, fmt.Errorf("fmnist: unknown normalisation %q (want one of %v)", kind, Normalisations())
	}
	return n, nil
}

// apply normalises s in place.
func (n Norm) apply(s Split) {
	for i := range s.N {
		row := s.X[i*s.D : (i+1)*s.D]
		for j := range row {
			row[j] = (row[j] - n.Mean[j]) / n.Scale[j]
		}
	}
}

// Run implements kit.Kind.
func (k Kind) Run(env kit.Env) error {
	s := settingsOf(env.Params())
	start := time.Now() // for the log line only
	paths := filePaths(s.Dir, s.Gzip)
	d, err := Read(env.ReadFile, paths, s.Config)
	if err != nil {
		return err
	}
	if err := env.Context().Err(); err != nil {
		return fmt.Errorf("fmnist: %w", err)
	}
	if err := write(env, d, s.Config); err != nil {
		return fmt.Errorf("fmnist: %w", err)
	}
	env.Progress(1, 1, fmt.Sprintf("%d train, %d test images of %dx%d", d.Train.N, d.Test.N, d.Rows, d.Cols))
	env.Logf("read %d+%d images (%dx%d after pooling %d, %s normalisation) in %.2fs",
		d.Train.N, d.Test.N, d.Rows, d.Cols, s.Pool, s.Normalize, time.Since(start).Seconds())
	return nil
}

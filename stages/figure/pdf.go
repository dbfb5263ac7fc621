package figure

import (
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// pdfEpoch is the creation and modification date written into every PDF
// figure: the Unix epoch, as with SOURCE_DATE_EPOCH=0. The PDF writer
// (fpdf, used by gonum/plot's vgpdf) otherwise stamps the wall-clock time,
// which would make the same figure differ from run to run.
var pdfEpoch = time.Unix(0, 0).UTC()

// pdfDefaults makes fpdf's output a function of the drawing alone: a fixed
// date (pdfEpoch), and fonts and images (kept in maps) written in sorted
// order rather than in Go's randomised map order, which matters as soon as
// a figure uses more than one font or image. vgpdf creates
// its fpdf document internally, so these are fpdf's package defaults,
// read when a document is created; nothing else in bfc writes PDFs.
func pdfDefaults() {
	fpdf.SetDefaultCreationDate(pdfEpoch)
	fpdf.SetDefaultModificationDate(pdfEpoch)
	fpdf.SetDefaultCatalogSort(true)
}

func init() { pdfDefaults() }

package view

import (
	"fmt"
	"time"
)

// Duration formats seconds for people: "0.04s", "2.4s", "12s", "3m05s", "1h02m".
func Duration(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.2fs", secs)
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", secs)
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", secs)
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

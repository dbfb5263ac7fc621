package main

import (
	"fmt"
	"maps"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/bfc-repro/bfc/pipeline/config"
)

// rulesJSON is the state of the frozen rules in the JSON of status.
type rulesJSON struct {
	Stage  string `json:"stage"`
	Hash   string `json:"hash"`   // of the rules in force
	Locked string `json:"locked"` // the hash rules.lock records for the profile ("" if none)
	Frozen bool   `json:"frozen"` // Hash == Locked
}

// rulesState is the state of the rules of an applied configuration (nil
// when the file names no rules stage).
func rulesState(cfg *config.Config) *rulesJSON {
	d, hash, ok := cfg.Rules()
	if !ok {
		return nil
	}
	locked := cfg.Lock[config.LockName(cfg.Applied)]
	return &rulesJSON{Stage: d.ID, Hash: hash, Locked: locked, Frozen: locked == hash}
}

// rulesLine says whether the rules in force are the frozen ones.
func rulesLine(r *rulesJSON, profile string) string {
	short := func(h string) string { return h[:min(12, len(h))] }
	switch {
	case r.Frozen:
		return fmt.Sprintf("rules (stage %s): frozen, hash %s matches %s", r.Stage, short(r.Hash), config.LockFile)
	case r.Locked == "":
		return fmt.Sprintf("rules (stage %s): NOT FROZEN, hash %s; %s has no entry for profile %q (bfc freeze records it)",
			r.Stage, short(r.Hash), config.LockFile, config.LockName(profile))
	}
	return fmt.Sprintf("rules (stage %s): CHANGED since bfc freeze: hash %s in force, %s records %s; the confirmatory seeds follow the rules in force",
		r.Stage, short(r.Hash), config.LockFile, short(r.Locked))
}

func freezeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "freeze",
		Short: "Record the hash of the decision rules in rules.lock (the confirmatory seeds derive from it)",
		Long: `Freeze validates the pipeline file, computes the canonical hash of the rules (the
params of the stage named by [pipeline] rules) under the file and under every
profile, and writes them to ` + config.LockFile + ` next to the pipeline file, one
"PROFILE HASH" line each. Commit the lock with the rules: the confirmatory seeds
are derived from the hash of the rules in force (seed_i = the first 31 bits of
sha256(hash:i)), so they cannot have been seen before the rules were fixed, and
editing any rule changes every confirmatory seed. bfc status and the report say
whether the rules in force match the lock (docs/science.md#rules).

Exit status: 0 when written, 2 on an error (an invalid file, no rules stage).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return freeze(g)
		},
	}
}

func freeze(g *globals) error {
	cfg, _, _, err := g.build()
	if err != nil {
		return err
	}
	if cfg.RulesStage == "" {
		return fmt.Errorf("%s: no [pipeline] rules: name the stage whose params are the decision rules", cfg.File)
	}
	hashes := map[string]string{}
	for _, p := range append([]string{""}, slices.Sorted(maps.Keys(cfg.Profiles))...) {
		a, err := cfg.Apply(p, registry().Names())
		if err != nil {
			return err
		}
		if _, h, ok := a.Rules(); ok {
			hashes[config.LockName(p)] = h
		}
	}
	if err := config.WriteLock(cfg.LockPath(), hashes); err != nil {
		return fmt.Errorf("write %s: %w", cfg.LockPath(), err)
	}
	for _, p := range slices.Sorted(maps.Keys(hashes)) {
		was := "new"
		if old, ok := cfg.Lock[p]; ok && old == hashes[p] {
			was = "unchanged"
		} else if ok {
			was = "was " + old[:12]
		}
		fmt.Fprintf(os.Stdout, "%s %s (%s)\n", p, hashes[p], was)
	}
	fmt.Fprintf(os.Stdout, "wrote %s: commit it with the rules\n", cfg.LockPath())
	return nil
}

package main

import "github.com/spf13/cobra"

// jsonSchema documents the JSON that --json prints; README.md repeats it
// and TestJSONOutputs decodes every form and checks its fields.
const jsonSchema = `--json prints one JSON document on standard output (indented, UTF-8). Fields
are always present unless marked "optional"; keys are hex SHA-256 stage keys.

bfc status --json: an object
  profile        string   the profile applied ("" for none)
  store          string   the store directory
  store_exists   bool     false before the first run
  total          int      selected points
  fresh, stale, missing   int   counts by state
  distinct_keys  int      distinct known keys (points of different stages may share one)
  unknown_keys   int      points whose key needs an upstream point to run first
  shared_keys    [ {key: string, points: [string]} ]   keys that several points have
  stages         [ {stage, kind: string, points, fresh, stale, missing: int} ]
  points         [ POINT ]
  rules          {stage, hash, locked: string, frozen: bool}   optional: the decision
                 rules ([pipeline] rules): the hash in force, the one rules.lock records
                 for the profile ("" if none), and whether they match
  (exit status 0 if every point is fresh, 1 if something would run, 2 on error)

POINT (status, explain, run -n):
  point    string             the point id, STAGE[axis=value,...]
  stage    string
  kind     string
  labels   {axis: value}      its grid coordinates
  state    string             "fresh", "stale" or "missing"
  key      string             "" while upstream points it waits for have not run
  reasons  [string]           why it is not fresh, in words
  probes   (optional) [ {name, key: string} ]   of a fresh point: the dynamic probes its run used
  estimate (run -n only) {seconds: number, known: bool, basis: string}

bfc explain --json: [ POINT ]

bfc run -n --json: an object
  profile, host  string
  jobs           int       the CPU budget (-j)
  run            [ POINT ] the points that would run, with estimate
  fresh          int       points that would not run
  known_seconds  number    sum of the known estimates (stage time)
  unknown        int       points without an estimate
  min_wall_seconds number  a lower bound of the wall time with -j

bfc show --json: [ {point, key: string, points: [string] (every point whose
  last run used the key), run: RUN, outputs: [ {name: string,
  rows, bytes: int, path: string, metadata: {string: string},
  columns: [ {name, type: string} ]} ]} ]
  RUN: start (RFC 3339), wall_s, user_s, sys_s (number), max_rss_bytes,
  threads (int), host, go, program, executor (string), and optional
  vcs_revision, vcs_dirty, build_tags, cpu (the CPU model), log, notes

bfc kinds --json: [ {name, package, doc: string, params: [ {name, type, doc:
  string, required: bool, default (optional: absent when required), min, max
  (optional numbers: absent when unbounded), enum (optional [string]),
  min_len (optional int)} ]} ]

bfc log --json: [ {start, end (RFC 3339), wall_s, cpu_s (number), run_wall_s,
  parallel_efficiency (optional numbers: absent when nothing ran), cores
  (optional int), host,
  profile: string, args: [string], exit: int, error (optional string), ran,
  cached, failed, skipped: int, points: [ {point, status: string, key
  (optional), wall_s, cpu_s: number, error (optional)} ]} ]  oldest first`

func jsonHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "json",
		Short: "The JSON that --json prints (status, explain, run -n, show, kinds, log)",
		Long:  jsonSchema,
	}
}

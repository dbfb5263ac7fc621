package graph_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bfc-repro/bfc/artifacts/id"
	"github.com/bfc-repro/bfc/artifacts/store"
	"github.com/bfc-repro/bfc/pipeline/config"
	"github.com/bfc-repro/bfc/pipeline/graph"
)

// liveProject writes src as a project's pipeline file and opens its store.
func liveProject(t *testing.T, src string) (*config.Config, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pipeline.toml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.ParseFile(filepath.Join(dir, "pipeline.toml"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(cfg.Store, true)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}

func TestLiveKeepsCurrentRefsOfEveryProfileAndPins(t *testing.T) {
	cfg, st := liveProject(t, "[stage.a]\nkind = \"src\"\ngrid = { seed = [1, 2] }\n[profile.p.stage.a]\ngrid = { seed = [3] }\n")
	key := func(s string) id.Key { return id.Key(id.ObjectOf([]byte(s))) }
	refs := []struct {
		profile, point string
		key            id.Key
		live           bool
	}{
		{"", "a[seed=1]", key("default 1"), true},
		{"", "a[seed=3]", key("only under p"), false},
		{"p", "a[seed=3]", key("p 3"), true},
		{"p", "a[seed=1]", key("not under p"), false},
		{"q", "a[seed=1]", key("no such profile"), false},
		{"", "gone", key("a removed stage"), false},
	}
	for _, r := range refs {
		if err := st.SetRef(r.profile, r.point, r.key); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutPin("archive-x", []id.Key{key("pinned")}); err != nil {
		t.Fatal(err)
	}
	l, err := graph.Live(cfg, kinds, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		got := l.KeepRef(store.Ref{Profile: r.profile, Point: r.point, Key: r.key})
		if got != r.live || l.Keys[r.key] != r.live {
			t.Errorf("ref %s/%s: kept %v, key live %v; want %v", r.profile, r.point, got, l.Keys[r.key], r.live)
		}
	}
	if !l.Keys[key("pinned")] || len(l.Keys) != 3 {
		t.Errorf("live keys %d (pinned kept: %v), want the 2 current refs and the pin", len(l.Keys), l.Keys[key("pinned")])
	}
	if cfg.Applied != "" || len(cfg.Stages[0].Grid[0].Values) != 2 {
		t.Error("Live changed the config")
	}
}

func TestLiveReturnsAProfileThatDoesNotBuild(t *testing.T) {
	cfg, st := liveProject(t, "[stage.a]\nkind = \"src\"\n[profile.bad.kind.src]\nn = 0\n")
	_, err := graph.Live(cfg, kinds, st)
	var ce *config.ConfigError
	if !errors.As(err, &ce) || ce.Line != 4 || ce.Field != "profile.bad.kind.src.n" {
		t.Fatalf("error %v, want a ConfigError at profile.bad.kind.src.n line 4", err)
	}
}

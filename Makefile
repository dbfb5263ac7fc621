# bfc: reproduce "Backward Feature Correction" (Allen-Zhu & Li) from one command.
#
#   make figures   run the pipeline (pipeline.toml) and write figures/
#   make test      vet and test everything
#   make help      list every target

GO       ?= go
# Every build and test uses simd/archsimd (Go 1.26's GOEXPERIMENT=simd) for
# the SIMD kernels of stages/lib/fastblas; without it the scalar kernels
# give the same bits, several times slower.
export GOEXPERIMENT ?= simd
BFC      := bin/bfc
# The default build is pure Go, what every fresh machine has, so that the
# committed figures are exactly what `make figures` recomputes anywhere.
# TAGS=openblas (with Debian's libopenblas-dev) solves the kernels faster
# (KRR at n = 10000: 3.8x on 2026-11-27; make bench measures it), but only the pure-Go build promises
# identical bytes across machines; the BLAS backend is part of the stage keys,
# so the two builds keep separate cache entries.
TAGS     ?=
GOFLAGS_TAGS := $(if $(TAGS),-tags $(TAGS))
PROFILE  ?=
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
BFCFLAGS ?=
RUN      := $(BFC) $(if $(PROFILE),--profile $(PROFILE)) -j $(JOBS) $(BFCFLAGS)

.DEFAULT_GOAL := help
.PHONY: help build figures plan data smoke status freeze test test-short vet fmt clean archive fuzz paper paper-timings latex check-figures approve-figures bench bench-e2e bench-deps interop
FUZZTIME ?= 10s
# Every fuzz target, as package:Target.
FUZZ_TARGETS := ./pipeline/graph:FuzzLoad ./pipeline/config:FuzzLocateKeys ./pipeline/exec:FuzzJob \
	./artifacts/store:FuzzParseManifest ./artifacts/store:FuzzDecodeTable ./artifacts/store:FuzzDecodeIndex \
	./artifacts/bundle:FuzzReadBundle ./artifacts/bundle:FuzzReadBundleTar

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the command-line program into bin/bfc (pure Go; TAGS=openblas for the OpenBLAS build)
	$(GO) build $(GOFLAGS_TAGS) -o $(BFC) ./cmd/bfc
	@echo "built $(BFC) ($(if $(TAGS),tags: $(TAGS),pure Go))"

figures: build data ## run the whole pipeline (cached stages are skipped) and write figures/
	$(RUN) run

plan: build ## what `make figures` would run, why, and how long it should take on this machine (bin/bfc run -n)
	$(RUN) run -n

data: ## install the Fashion-MNIST data set (Debian's dataset-fashion-mnist) for E8, if missing
	@if [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing dataset-fashion-mnist (E8 data)"; \
		apt-get install -y dataset-fashion-mnist >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y dataset-fashion-mnist >/dev/null; }; \
	else echo "E8 needs Debian's dataset-fashion-mnist: sudo apt-get install dataset-fashion-mnist" >&2; exit 1; fi

smoke: build ## run every stage at tiny sizes (profile smoke; figures go to .bfc/smoke/)
	$(BFC) --profile smoke -j $(JOBS) run

archive: build ## write the review bundle bfc.tar.zst (run `make figures` first)
	$(RUN) archive -o $(if $(PROFILE),bfc-$(PROFILE),bfc).tar.zst

status: build ## count fresh, stale and missing points per stage (bin/bfc -v status: each point and why)
	@$(RUN) status || [ $$? -eq 1 ]

freeze: build ## record the hash of the decision rules in rules.lock (commit it; the confirmatory seeds derive from it)
	$(BFC) freeze

vet: ## gofmt check and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: vet ## vet, then run every test (unit, engine, CLI fault tests, smoke pipeline)
	$(GO) test -count=1 ./...

interop: ## read store files and Parquet exports with independent readers (npm apache-arrow and DuckDB; needs node and npm)
	cd artifacts/interop && npm ci --no-audit --no-fund --silent
	$(GO) test -count=1 -run '^(TestArrowFilesOpenInApacheArrowJS|TestExportIsLossless)$$' -v ./cmd/bfc | grep -E '^(--- |ok|FAIL)'

fuzz: ## run every fuzz target for FUZZTIME each (default 10s; seed corpora in testdata/fuzz)
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x $$pkg || exit 1; \
	done

test-short: ## the fast tests only
	$(GO) test -short ./...

fmt: ## format the Go code
	gofmt -w $$(git ls-files '*.go')

clean: ## remove the program (the store .bfc/ is kept; `bin/bfc gc` prunes it)
	rm -rf bin

# ---------------------------------------------------------------- the report
# `make paper` runs the pipeline up to the report (stage paper: paper/README.md,
# paper/paper.tex, paper/numbers.tex) and builds paper/paper.pdf with LaTeX in
# paper/build (PROFILE=smoke: .bfc/smoke/paper). The report's run times are the
# tracked paper/timings.csv, so that `make paper` changes no tracked file when the
# results are those committed; it says when the store's run records differ, and
# `make paper-timings` recomputes the file from them and reruns the report.
LATEX_PKGS := texlive-latex-base
PAPER_DIR  := $(if $(filter smoke,$(PROFILE)),.bfc/smoke/paper,paper)

paper: build $(if $(PROFILE),,data) latex ## run the pipeline and write the report, then build its PDF (paper/paper.pdf); tracked files change only if results do
	$(RUN) run
ifeq ($(PROFILE),)
	@t=$$(mktemp) && $(GO) run ./paper/timings -o $$t && { cmp -s $$t paper/timings.csv || \
		echo "note: this store's run times differ from paper/timings.csv; \`make paper-timings\` rewrites it and the report"; }; rm -f $$t
endif
	@mkdir -p $(PAPER_DIR)/build
	@cd $(PAPER_DIR) && for pass in 1 2 3 4; do \
		pdflatex -interaction=nonstopmode -halt-on-error -output-directory build paper.tex >build/pdflatex.out 2>&1 \
			|| { tail -40 build/pdflatex.out >&2; exit 1; }; \
		grep -q 'Rerun to get\|Rerun LaTeX' build/paper.log || break; \
	done
	cp $(PAPER_DIR)/build/paper.pdf $(PAPER_DIR)/paper.pdf
	@echo "wrote $(PAPER_DIR)/paper.pdf"

paper-timings: build ## recompute paper/timings.csv from the store's run records and rerun the report with it (changes tracked files)
	$(GO) run ./paper/timings -o paper/timings.csv
	$(RUN) run paper

latex: ## install LaTeX for make paper (Debian's texlive-latex-base, about 20 s), if missing
	@if command -v pdflatex >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing $(LATEX_PKGS) (LaTeX, for make paper)"; \
		apt-get install -y --no-install-recommends $(LATEX_PKGS) >/dev/null 2>&1 || \
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends $(LATEX_PKGS) >/dev/null; }; \
	else echo "make paper needs LaTeX: sudo apt-get install --no-install-recommends $(LATEX_PKGS)" >&2; exit 1; fi

check-figures: ## compare the figure data of a smoke run with the approved baseline (cmd/bfc/testdata/figure-baselines)
	$(GO) test -count=1 -run '^TestFigureRegression$$' ./cmd/bfc

approve-figures: ## approve the figure data of a smoke run as the new baseline (then commit it)
	BFC_APPROVE_FIGURES=1 $(GO) test -count=1 -run '^TestFigureRegression$$' ./cmd/bfc
	@git status --short cmd/bfc/testdata/figure-baselines

# ----------------------------------------------------------------- speed
BENCHFLAGS ?=
bench: bench-deps ## speed next to PyTorch, scikit-learn and the dgemm peak, engine at sweep scale, in one run (~7 min; BENCHFLAGS=-quick: ~30 s)
	$(GO) run ./cmd/bfcbench $(BENCHFLAGS)

bench-e2e: build ## the whole pipeline from an empty store, this checkout against main at 76b76ed (a git worktree), same machine: wall time and which stages' bytes changed (PROFILE=smoke: ~30 s)
	$(GO) run ./cmd/bfcbench -e2e -j $(JOBS) $(if $(PROFILE),-profile $(PROFILE)) $(BENCHFLAGS)

bench-deps: ## install the peers and OpenBLAS for make bench (python3-torch, python3-sklearn, libopenblas-dev), if missing
	@if /usr/bin/python3 -c 'import torch, sklearn' 2>/dev/null && ldconfig -p | grep -q 'libopenblas\.so '; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "installing python3-torch python3-sklearn libopenblas-dev (peers of make bench)"; \
		apt-get install -y python3-torch python3-sklearn libopenblas-dev >/dev/null 2>&1 || \
		{ apt-get update >/dev/null && apt-get install -y python3-torch python3-sklearn libopenblas-dev >/dev/null; }; \
	else echo "make bench needs: sudo apt-get install python3-torch python3-sklearn libopenblas-dev" >&2; exit 1; fi

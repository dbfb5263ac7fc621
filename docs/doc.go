// Package docs holds the project's science document, science.md, and the
// tests that keep the repository's references to it resolvable.
//
// The repository must be self-contained: every citation of the science
// goes to docs/science.md by anchor (`docs/science.md#claims`, or
// `science.md#claims` from inside docs/), every anchor cited must be
// defined there, and every repository path that science.md links to must
// exist. Nothing may cite documents that live outside the repository.
//
// The tests read every file the repository tracks (git ls-files, plus
// untracked files that are not ignored, so a new file is checked before it
// is committed; without git, a walk of the module) and report every
// offending file and line, not just the first.
package docs

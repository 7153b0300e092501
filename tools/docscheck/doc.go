// Package docscheck holds the tests that keep the repository's prose honest:
// the README, docs/ and the comments of non-test Go files state what the code
// does and why, without citing who changed or measured what and when (that
// is git's job), and docs link only inside the repository. `make docs-check`
// runs them.
package docscheck

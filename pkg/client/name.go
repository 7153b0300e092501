package client

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/artifact-store/artstore/internal/registry"
)

// nameRules says what an artifact name may contain, for error messages.
const nameRules = "artifact names may contain only a-z, 0-9, '.', '_' and '-' (and '/' between segments)"

// DeriveName derives an artifact name from a file or directory path, for a
// push without an explicit name: the base name, lower-cased, with accents
// removed ("Résumé.PDF" -> "resume.pdf"), and each run of other characters
// (spaces, brackets, ...) replaced by a single '-', which is dropped next to
// a '.'; leading and trailing '-' and '.' are trimmed ("Q3 report (final).pdf" ->
// "q3-report-final.pdf"). A base name with letters or digits outside a-z and
// 0-9 after that (for example Cyrillic or Han script) is refused rather
// than reduced to something unrecognisable; the error says what names may
// contain. The result always passes the registry's name grammar.
func DeriveName(path string) (string, error) {
	base := filepath.Base(filepath.Clean(path))
	if base == "." || base == string(filepath.Separator) {
		if abs, err := filepath.Abs(path); err == nil {
			base = filepath.Base(abs)
		}
	}
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(base) {
		if unicode.Is(unicode.Mn, r) { // combining accent of a decomposed letter
			continue
		}
		r = unicode.ToLower(r)
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-':
			if dash && r != '.' && !strings.HasSuffix(b.String(), ".") {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return "", fmt.Errorf("%w: cannot derive an artifact name from %q: %q is not allowed; %s; give a name explicitly (--name)",
				ErrInvalid, base, string(r), nameRules)
		default:
			dash = b.Len() > 0
		}
	}
	name := strings.Trim(b.String(), "-.")
	if len(name) > registry.MaxNameLen {
		name = strings.TrimRight(name[:registry.MaxNameLen], "-.")
	}
	if strings.Trim(name, "._-") == "" {
		return "", fmt.Errorf("%w: cannot derive an artifact name from %q; %s; give a name explicitly (--name)", ErrInvalid, base, nameRules)
	}
	if err := registry.ValidateName(name); err != nil {
		return "", mapErr(fmt.Errorf("cannot derive an artifact name from %q: %w; give a name explicitly (--name)", base, err))
	}
	return name, nil
}

package registry

import (
	"errors"
	"strings"
	"testing"
)

// Every refusal of a name says what names may contain, once: users fix the
// name from the message alone.
func TestValidateNameSaysWhatIsAllowed(t *testing.T) {
	for _, name := range []string{"", "Bad Name", "a//b", "a/./b", "../x", strings.Repeat("a", MaxNameLen+1)} {
		err := ValidateName(name)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("ValidateName(%.20q) = %v, want ErrInvalid", name, err)
		}
		if n := strings.Count(err.Error(), "may contain only"); n != 1 {
			t.Errorf("ValidateName(%.20q): %q states the grammar %d times, want once", name, err, n)
		}
	}
}

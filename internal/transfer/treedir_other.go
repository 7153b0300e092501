//go:build !linux

package transfer

import "os"

// readDir lists the directory open as df.
func readDir(df *os.File) ([]dirEnt, error) {
	ents, err := df.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	out := make([]dirEnt, len(ents))
	for i, e := range ents {
		out[i] = dirEnt{name: e.Name(), typ: e.Type()}
	}
	return out, nil
}

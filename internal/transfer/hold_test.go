package transfer

import "testing"

// TestHolds: the space goes back on the last release, whichever holder
// releases last; a release by a holder that does not hold panics.
func TestHolds(t *testing.T) {
	for _, order := range [][2]holder{{holdInOrder, holdOwn}, {holdOwn, holdInOrder}} {
		var hs holds
		hs.hold(holdInOrder, holdOwn)
		if hs.release(order[0]) {
			t.Fatalf("%s released first: reported last", order[0])
		}
		if !hs.release(order[1]) {
			t.Fatalf("%s released second: not reported last", order[1])
		}
	}
	var one holds
	one.hold(holdOwn)
	if !one.release(holdOwn) {
		t.Fatal("the only holder's release was not the last")
	}
	for _, h := range []holder{holdOwn, holdInOrder} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s released a hold it did not have: no panic", h)
				}
			}()
			one.release(h)
		}()
	}
}

package termbg

import "testing"

func TestSettled(t *testing.T) {
	if !Settled() {
		t.Fatal("the background answer is not settled: lipgloss would query the terminal")
	}
}

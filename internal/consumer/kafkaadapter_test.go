package consumer

import (
	"testing"
	"time"
)

func TestCloseWithinGivesUpOnAHangingClose(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	if closeWithin(time.Millisecond, func() { <-release; close(returned) }) {
		t.Fatal("closeWithin reported a close that is still blocked as done")
	}
	close(release)
	<-returned // the close goes on by itself and ends
	if !closeWithin(time.Hour, func() {}) {
		t.Fatal("closeWithin reported a close that returned as hanging")
	}
}

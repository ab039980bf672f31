package buildcrypto

import (
	"runtime"
	"strings"
	"testing"
)

// TestNameFollowsTheBuild checks Name against what the toolchain says of the
// build: runtime.Version carries "X:boringcrypto" when the experiment was
// set, and BoringSSL is linked only with cgo on linux/amd64 and linux/arm64.
// `make test` runs it in the pure-Go build and `make test-crypto` in the
// BoringCrypto one.
func TestNameFollowsTheBuild(t *testing.T) {
	want := Go
	if strings.Contains(runtime.Version(), "boringcrypto") && cgoEnabled &&
		runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
		want = Boring
	}
	if got := Name(); got != want {
		t.Fatalf("Name() = %q in a build of %s cgo=%v %s/%s, want %q", got, runtime.Version(), cgoEnabled, runtime.GOOS, runtime.GOARCH, want)
	}
	t.Logf("%s: %s", runtime.Version(), Name())
}

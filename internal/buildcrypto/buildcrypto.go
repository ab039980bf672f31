// Package buildcrypto names the cryptography the binary signs and verifies
// with: "boringcrypto" when it was built with GOEXPERIMENT=boringcrypto and
// cgo on a platform where Go uses BoringSSL's module (linux/amd64,
// linux/arm64), "go" otherwise — Go's own crypto/rsa, also when the
// experiment was set but the platform or a missing cgo left it unused. See
// README.md, "Building with BoringCrypto".
package buildcrypto

// The two names Name returns.
const (
	Boring = "boringcrypto"
	Go     = "go"
)

// Name returns Boring when BoringCrypto handles crypto/rsa in this binary,
// Go otherwise.
func Name() string {
	if boringEnabled() {
		return Boring
	}
	return Go
}

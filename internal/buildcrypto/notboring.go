//go:build !boringcrypto

package buildcrypto

// boringEnabled is false: the boringcrypto experiment was not set.
func boringEnabled() bool { return false }

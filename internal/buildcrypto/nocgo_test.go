//go:build !cgo

package buildcrypto

const cgoEnabled = false

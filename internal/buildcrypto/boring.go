//go:build boringcrypto

package buildcrypto

import "crypto/boring"

// boringEnabled reports crypto/boring.Enabled: true only where the
// experiment's BoringSSL module is linked in, not merely requested.
func boringEnabled() bool { return boring.Enabled() }

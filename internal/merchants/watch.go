package merchants

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"time"
)

// WatchInterval is how often Watch reads the registry file for a change.
const WatchInterval = 2 * time.Second

// ReloadFile loads the registry file at path, keys included, and puts it in
// force (see Reload). A file that fails to load is refused whole, counted,
// and the registry in force stays; the error names the path inside the file.
func (r *Router) ReloadFile(path string) error {
	reg, err := Load(path, LoadOptions{Keys: true})
	if err != nil {
		r.cfg.Observer.RegistryReloaded(false)
		return err
	}
	return r.Reload(reg)
}

// Watch reloads the registry file at path on each value from hup (SIGHUP)
// and whenever its content differs from the registry in force (as loaded),
// read every interval, until ctx ends.
// Each reload is logged: refused (naming the path inside the file; the
// registry in force stays) or in force.
func (r *Router) Watch(ctx context.Context, path string, hup <-chan os.Signal, interval time.Duration) {
	last := r.Registry().sum // the content in force, so a change since it loaded counts
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		why := ""
		select {
		case <-ctx.Done():
			return
		case <-hup:
			last, why = fileSum(path), "SIGHUP"
		case <-t.C:
			sum := fileSum(path)
			if sum == nil || bytes.Equal(sum, last) {
				continue
			}
			last, why = sum, "file changed" // a refused content is not tried again until it changes
		}
		if err := r.ReloadFile(path); err != nil {
			r.log.Error().Str("trigger", why).Str("file", path).Str("error", err.Error()).
				Msg("merchant registry reload refused: ORDERSYNC_MERCHANTS_FILE " + path + ": " + err.Error() + "; the registry in force stays")
			continue
		}
		reg := r.Registry()
		r.log.Info().Str("trigger", why).Str("file", path).Strs("accounts", reg.Names()).Int("merchants", reg.Merchants()).
			Msg("merchant registry reloaded")
	}
}

// ReleaseOnSignal releases every held sub-merchant on each value from hup
// (SIGHUP without a registry file), until ctx ends.
func (r *Router) ReleaseOnSignal(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.holds.releaseAll("SIGHUP")
			r.log.Info().Str("trigger", "SIGHUP").Msg("held sub-merchants released")
		}
	}
}

// fileSum is the SHA-256 of the file's content, nil when it cannot be read
// (a file being replaced is read again at the next tick).
func fileSum(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	return sum[:]
}

//go:build chaos

package chaos

import "testing"

// Findings 7 and 10 of the second pass in the long tier
// (second_pass_lag_test.go, second_pass_secrets_test.go).

func TestLagDuringStallLong(t *testing.T) { lagsecStalledLag(t, 600, 1500, longTimeout) }

func TestLagSeriesOfRevokedPartitionsLong(t *testing.T) { lagsecRevokedSeries(t, 1000, longTimeout) }

func TestEchoedSecretsRedactedLong(t *testing.T) { lagsecEchoedSecrets(t, 1500, longTimeout) }

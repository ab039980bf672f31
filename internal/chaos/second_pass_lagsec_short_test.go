//go:build !chaos

package chaos

import "testing"

// Findings 7 and 10 of the second pass in the short tier
// (second_pass_lag_test.go, second_pass_secrets_test.go).

// 200 orders make about 530 events, more than the consumers' windows (384).
func TestLagDuringStallShort(t *testing.T) { lagsecStalledLag(t, 60, 200, shortTimeout) }

func TestLagSeriesOfRevokedPartitionsShort(t *testing.T) { lagsecRevokedSeries(t, 100, shortTimeout) }

func TestEchoedSecretsRedactedShort(t *testing.T) { lagsecEchoedSecrets(t, 150, shortTimeout) }

func TestKafkaPasswordNotAFlag(t *testing.T) { lagsecPasswordFlag(t) }

func TestReadableKeyFileWarned(t *testing.T) { lagsecKeyFileMode(t) }

func TestPlainHTTPBaseURLRefused(t *testing.T) { lagsecPlainHTTP(t) }

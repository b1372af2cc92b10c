package sources

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stewardhq/steward/engine/config"
)

// appJWT is the JSON Web Token a GitHub App authenticates with (RS256,
// issued a minute in the past against clock drift, valid 9 minutes: GitHub
// accepts at most 10).
func appJWT(appID int64, pemKey []byte, now time.Time) (string, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return "", errors.New("the App's private key is not PEM")
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return "", errors.New("the App's private key is not an RSA key")
		}
		key = rk
	} else {
		return "", fmt.Errorf("the App's private key: %w", err)
	}
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(9 * time.Minute).Unix(), "iss": fmt.Sprint(appID)})
	signing := head + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// installationToken mints a token of the App's installation: POST
// /app/installations/ID/access_tokens with the App's JWT.
func installationToken(ctx context.Context, src config.Source, opts GitHubOptions) (string, error) {
	app := src.App
	key := getenv(opts)("STEWARD_SECRET_" + app.PrivateKey)
	if key == "" {
		return "", fmt.Errorf("%w: source %s: STEWARD_SECRET_%s (the App's private key) is not set", ErrGitHubAuth, src.Name, app.PrivateKey)
	}
	jwt, err := appJWT(app.ID, []byte(key), time.Now())
	if err != nil {
		return "", fmt.Errorf("%w: source %s: %v", ErrGitHubAuth, src.Name, err)
	}
	c, err := NewGitHubClient(src.BaseURL, jwt, opts.HTTPClient)
	if err != nil {
		return "", err
	}
	tok, _, err := c.Apps.CreateInstallationToken(ctx, app.InstallationID, nil)
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == http.StatusUnauthorized || er.Response.StatusCode == http.StatusNotFound) {
		return "", fmt.Errorf("%w (%d %s): source %s: App %d, installation %d", ErrGitHubAuth, er.Response.StatusCode, er.Message, src.Name, app.ID, app.InstallationID)
	}
	if err != nil {
		return "", fmt.Errorf("sources: %s: minting an installation token: %w", src.Name, err)
	}
	return tok.GetToken(), nil
}

package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tidegate/tidegate/internal/catalog"
	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/dialect/bedrock"
	"github.com/tidegate/tidegate/internal/llm"
)

// Bedrock talks to AWS Bedrock's Converse and ConverseStream APIs, signing
// each request with SigV4 (the AWS SDK's signer), or with a Bedrock API
// key as a bearer token when api_key is set. Requests are always
// translated.
type Bedrock struct {
	base
	region string
}

// NewBedrock builds a Bedrock provider.
func NewBedrock(name string, cfg config.Provider, cat *catalog.Catalog) *Bedrock {
	p := &Bedrock{base: newBase(name, cfg, cat), region: cfg.Region}
	if cfg.AccessKeyID != "" {
		creds := aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey, SessionToken: cfg.SessionToken}
		signer := v4.NewSigner()
		p.sign = func(req *http.Request, body []byte) error {
			sum := sha256.Sum256(body)
			return signer.SignHTTP(req.Context(), creds, req, hex.EncodeToString(sum[:]), "bedrock", p.region, time.Now().UTC())
		}
	}
	return p
}

// Dialect is bedrock.
func (p *Bedrock) Dialect() llm.Dialect { return bedrock.Dialect }

func (p *Bedrock) header() http.Header {
	if p.sign != nil {
		return make(http.Header, 4)
	}
	return bearer(p.apiKey)
}

// modelPath escapes a model or inference-profile ID (or ARN) as AWS does:
// ":" and "/" too.
func modelPath(model string) string {
	return "/model/" + strings.ReplaceAll(url.PathEscape(model), ":", "%3A")
}

// Chat sends the request to converse or converse-stream.
func (p *Bedrock) Chat(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if err := req.Decode(); err != nil {
		return nil, err
	}
	body, err := bedrock.EncodeRequest(req, p.info(req.Model))
	if err != nil {
		return nil, err
	}
	op := "/converse"
	if req.Stream {
		op = "/converse-stream"
	}
	resp, err := p.post(ctx, modelPath(req.Model)+op, body, p.header(), bedrock.DecodeError)
	if err != nil {
		return nil, err
	}
	if req.Stream {
		return p.guard(ctx, bedrock.NewStreamDecoder(resp.Body), resp.Body), nil
	}
	data, err := p.readBody(ctx, resp)
	if err != nil {
		return nil, err
	}
	r, err := bedrock.DecodeResponse(data)
	if err != nil {
		return nil, upstreamDecodeError(p.name, err)
	}
	r.Model, r.Op = req.Model, req.Op
	return single(llm.Event{Type: llm.EventResponse, Response: r}), nil
}

// Embed is not offered through Converse.
func (p *Bedrock) Embed(context.Context, *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	return nil, llm.Errorf(llm.KindInvalidRequest, "provider %s (bedrock) does not offer embeddings through tidegate yet", p.name)
}

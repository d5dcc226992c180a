package openai

import (
	"encoding/base64"
	"encoding/binary"
	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"math"

	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidwall/gjson"
)

// DecodeEmbedRequest decodes an Embeddings request body. input is a string
// or an array of strings; token-array input (integers, or arrays of them)
// is accepted but leaves Input nil: only a same-dialect passthrough (the
// Source body) can serve it. encoding_format is "float" (default) or
// "base64".
func DecodeEmbedRequest(body []byte) (*llm.EmbedRequest, error) {
	root, e := parseBody(body)
	if e != nil {
		return nil, e
	}
	req := &llm.EmbedRequest{EncodingFormat: "float", Source: llm.Source{Dialect: Dialect, Body: body}}
	var err *llm.Error
	haveInput := false
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			req.Model, _, err = oaierr.String("model", v)
		case "input":
			haveInput = v.Type != gjson.Null
			req.Input, err = decodeEmbedInput(v)
		case "encoding_format":
			var s string
			var ok bool
			if s, ok, err = oaierr.String("encoding_format", v); ok {
				if s != "float" && s != "base64" {
					err = oaierr.Value("encoding_format", "expected one of 'float' or 'base64', but got '"+s+"'.")
				}
				req.EncodingFormat = s
			}
		case "dimensions":
			var n int64
			var ok bool
			if n, ok, err = oaierr.Int("dimensions", v); ok {
				if n < 1 {
					err = oaierr.Value("dimensions", "expected a value >= 1.")
				}
				req.Dimensions = int(n)
			}
		case "user":
			req.User, _, err = oaierr.String("user", v)
		}
		return err == nil
	})
	if err != nil {
		return nil, oaierr.Finish(err)
	}
	if req.Model == "" {
		return nil, oaierr.Finish(oaierr.Missing("model"))
	}
	if !haveInput {
		return nil, oaierr.Finish(oaierr.Missing("input"))
	}
	return req, nil
}

func decodeEmbedInput(v gjson.Result) ([]string, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		return []string{v.Str}, nil
	case !v.IsArray():
		return nil, oaierr.Type("input", "one of a string or array of strings", v)
	}
	var out []string
	var err *llm.Error
	kind := gjson.Type(255) // kind of the first element
	i := 0
	v.ForEach(func(_, item gjson.Result) bool {
		t := item.Type
		if item.IsArray() {
			t = gjson.JSON
		}
		if i == 0 {
			kind = t
			if t == gjson.String {
				out = make([]string, 0, 8)
			}
		}
		switch {
		case t != kind:
			err = oaierr.Type(idx("input", i), "an element of the same type as 'input.[0]'", item)
		case t == gjson.String:
			out = append(out, item.Str)
		case t == gjson.Number:
			// token ids: passthrough only
		case t == gjson.JSON:
			item.ForEach(func(_, tok gjson.Result) bool {
				if tok.Type != gjson.Number {
					err = oaierr.Type(idx("input", i), "an array of integers", item)
				}
				return err == nil
			})
		default:
			err = oaierr.Type(idx("input", i), "a string", item)
		}
		i++
		return err == nil
	})
	if err != nil {
		return nil, err
	}
	if i == 0 {
		return nil, oaierr.Value("input", "expected a non-empty array.")
	}
	return out, nil
}

// EncodeEmbedRequest builds an Embeddings body for an OpenAI-compatible
// upstream. A request whose input could not be decoded (token arrays) is
// served from its OpenAI source body with the model rewritten.
func EncodeEmbedRequest(req *llm.EmbedRequest) ([]byte, error) {
	if req.Input == nil {
		if req.Source.Dialect == Dialect && len(req.Source.Body) > 0 {
			return RewriteRequest(req.Source.Body, req.Model, false)
		}
		return nil, oaierr.Finish(oaierr.Missing("input"))
	}
	n := 128 + len(req.Model)
	for _, s := range req.Input {
		n += len(s) + 8
	}
	b := make([]byte, 0, n)
	b = append(b, `{"model":`...)
	b = jsonw.AppendString(b, req.Model)
	b = append(b, `,"input":`...)
	b = appendStrings(b, req.Input)
	// Ask for what the caller wants, so the upstream body can be relayed.
	if req.EncodingFormat == "base64" || req.EncodingFormat == "float" {
		b = append(b, `,"encoding_format":"`...)
		b = append(b, req.EncodingFormat...)
		b = append(b, '"')
	}
	if req.Dimensions > 0 {
		b = append(b, `,"dimensions":`...)
		b = jsonw.AppendInt(b, req.Dimensions)
	}
	b = appendUser(b, req.User)
	return append(b, '}'), nil
}

// EncodeEmbedResponse renders an Embeddings response. encodingFormat
// "base64" sends each vector as base64 of its little-endian float32 bytes,
// as the OpenAI API does; anything else sends float arrays. A response
// whose Raw body is already OpenAI is returned as is.
func EncodeEmbedResponse(resp *llm.EmbedResponse, encodingFormat string) []byte {
	if resp.RawDialect == Dialect && len(resp.Raw) > 0 {
		return resp.Raw
	}
	b64 := encodingFormat == "base64"
	n := 128
	for _, e := range resp.Embeddings {
		if b64 {
			n += 48 + len(e)*16/3
		} else {
			n += 48 + len(e)*12
		}
	}
	b := make([]byte, 0, n)
	b = append(b, `{"object":"list","data":[`...)
	var scratch []byte
	for i, e := range resp.Embeddings {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = jsonw.AppendInt(b, i)
		b = append(b, `,"embedding":`...)
		if b64 {
			scratch = scratch[:0]
			for _, f := range e {
				scratch = binary.LittleEndian.AppendUint32(scratch, math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, scratch)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range e {
				if j > 0 {
					b = append(b, ',')
				}
				b = jsonw.AppendFloat32(b, f)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = jsonw.AppendString(b, resp.Model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = jsonw.AppendInt(b, resp.InputTokens)
	b = append(b, `,"total_tokens":`...)
	b = jsonw.AppendInt(b, resp.InputTokens)
	return append(b, `}}`...)
}

// DecodeEmbedResponse decodes an upstream Embeddings response; vectors may
// be float arrays or base64 strings. Raw keeps the body for a same-dialect
// relay.
func DecodeEmbedResponse(body []byte) (*llm.EmbedResponse, error) {
	if !gjson.ValidBytes(body) {
		return nil, errUpstreamJSON()
	}
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, errUpstreamJSON()
	}
	if e := root.Get("error"); e.Exists() && e.Type != gjson.Null {
		return nil, errorFromBody(0, e, root)
	}
	resp := &llm.EmbedResponse{Raw: body, RawDialect: Dialect}
	resp.Model = root.Get("model").String()
	resp.InputTokens = int(root.Get("usage.prompt_tokens").Int())
	data := root.Get("data")
	if !data.IsArray() {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream embeddings response has no data"}
	}
	items := data.Array()
	resp.Embeddings = make([][]float32, len(items))
	var err *llm.Error
	for i, item := range items {
		pos := i
		if ix := item.Get("index"); ix.Type == gjson.Number && ix.Int() >= 0 && int(ix.Int()) < len(items) {
			pos = int(ix.Int())
		}
		var vec []float32
		switch emb := item.Get("embedding"); {
		case emb.Type == gjson.String:
			raw, derr := base64.StdEncoding.DecodeString(emb.Str)
			if derr != nil || len(raw)%4 != 0 {
				return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid base64 embedding", Err: derr}
			}
			vec = make([]float32, len(raw)/4)
			for j := range vec {
				vec[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[j*4:]))
			}
		case emb.IsArray():
			vec = make([]float32, 0, 256)
			emb.ForEach(func(_, f gjson.Result) bool {
				if f.Type != gjson.Number {
					err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent a non-numeric embedding value"}
					return false
				}
				vec = append(vec, float32(f.Num))
				return true
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream embeddings response has an item without an embedding"}
		}
		resp.Embeddings[pos] = vec
	}
	return resp, nil
}

// EncodeModelList renders GET /v1/models.
func EncodeModelList(ids []string, created int64, ownedBy string) []byte {
	return EncodeModelListInfo(ids, created, ownedBy, nil)
}

// EncodeModel renders GET /v1/models/{id}.
func EncodeModel(id string, created int64, ownedBy string) []byte {
	return EncodeModelInfo(id, created, ownedBy, nil)
}

// ModelInfoFunc tells what the catalogue knows of a public model.
type ModelInfoFunc func(id string) (llm.ModelInfo, bool)

// EncodeModelListInfo is EncodeModelList with each model enriched by what
// info knows: context_window, max_output, modalities and pricing (USD per
// million tokens), extra fields OpenAI clients ignore.
func EncodeModelListInfo(ids []string, created int64, ownedBy string, info ModelInfoFunc) []byte {
	b := make([]byte, 0, 32+len(ids)*(64+len(ownedBy)))
	b = append(b, `{"object":"list","data":[`...)
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendModel(b, id, created, ownedBy, info)
	}
	return append(b, "]}"...)
}

// EncodeModelInfo is EncodeModel enriched like EncodeModelListInfo.
func EncodeModelInfo(id string, created int64, ownedBy string, info ModelInfoFunc) []byte {
	return appendModel(make([]byte, 0, 64+len(id)+len(ownedBy)), id, created, ownedBy, info)
}

func appendModel(b []byte, id string, created int64, ownedBy string, info ModelInfoFunc) []byte {
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = jsonw.AppendInt(b, created)
	b = append(b, `,"owned_by":`...)
	b = jsonw.AppendString(b, ownedBy)
	if info != nil {
		if mi, ok := info(id); ok {
			b = appendModelInfo(b, mi)
		}
	}
	return append(b, '}')
}

func appendModelInfo(b []byte, mi llm.ModelInfo) []byte {
	if mi.ContextWindow > 0 {
		b = append(b, `,"context_window":`...)
		b = jsonw.AppendInt(b, mi.ContextWindow)
	}
	if mi.MaxOutput > 0 {
		b = append(b, `,"max_output":`...)
		b = jsonw.AppendInt(b, mi.MaxOutput)
	}
	if len(mi.Modalities) > 0 {
		b = append(b, `,"modalities":`...)
		b = appendStrings(b, mi.Modalities)
	}
	if p := mi.Price; p != nil {
		b = append(b, `,"pricing":{"currency":"USD","per":"1M tokens","input":`...)
		b = jsonw.AppendFloat(b, p.Input)
		b = append(b, `,"output":`...)
		b = jsonw.AppendFloat(b, p.Output)
		b = append(b, `,"cache_read":`...)
		b = jsonw.AppendFloat(b, p.CacheRead)
		b = append(b, `,"cache_write":`...)
		b = jsonw.AppendFloat(b, p.CacheWrite)
		b = append(b, '}')
	}
	return b
}

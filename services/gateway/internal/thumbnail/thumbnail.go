package thumbnail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// Media types of the images this package decodes.
const (
	PNG  = "image/png"
	JPEG = "image/jpeg"
	GIF  = "image/gif"
	WebP = "image/webp"
)

// IsImage reports whether contentType is an image this package decodes.
func IsImage(contentType string) bool {
	switch contentType {
	case PNG, JPEG, GIF, WebP:
		return true
	}
	return false
}

// ErrTooManyPixels refuses an image whose header promises more pixels than allowed.
var ErrTooManyPixels = errors.New("thumbnail: image has too many pixels")

// ErrNotImage refuses data that is not a well-formed image of the named type.
var ErrNotImage = errors.New("thumbnail: not a well-formed image")

// Limits bound the work one image may cause.
type Limits struct {
	// MaxPixels is the most pixels (width × height) an image may have; decoding takes
	// about 4 bytes per pixel (8 for 16-bit PNGs). Required.
	MaxPixels int64
	// Box is the side of the square a thumbnail fits in. Required.
	Box int
}

// Result is an image's dimensions and its thumbnail.
type Result struct {
	// Width and Height are the image's dimensions.
	Width, Height int
	// Thumb is the encoded thumbnail, ThumbType its media type (image/png or image/jpeg),
	// and ThumbWidth, ThumbHeight its dimensions (at most Box, keeping the aspect ratio).
	Thumb                   []byte
	ThumbType               string
	ThumbWidth, ThumbHeight int
}

// decoders are the config and image decoders of each type, so the type comes from the
// gateway's sniffing and never from the file's own claims.
var decoders = map[string]struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}{
	PNG:  {png.DecodeConfig, png.Decode},
	JPEG: {jpeg.DecodeConfig, jpeg.Decode},
	GIF:  {gif.DecodeConfig, gif.Decode},
	WebP: {webp.DecodeConfig, webp.Decode},
}

// Make reads an image of contentType from r (at most maxBytes of it), refuses it when
// its header promises more than lim.MaxPixels, and returns its dimensions and thumbnail.
// Only the first frame of an animated GIF is used.
func Make(r io.Reader, contentType string, maxBytes int64, lim Limits) (Result, error) {
	d, ok := decoders[contentType]
	if !ok {
		return Result{}, fmt.Errorf("thumbnail: %s is not a supported image type", contentType)
	}
	if lim.MaxPixels <= 0 || lim.Box <= 0 {
		return Result{}, errors.New("thumbnail: MaxPixels and Box are required")
	}
	// The header is read through a buffer that replays it to the decoder, so the file is
	// read once and never held whole beside its pixels.
	br := bufio.NewReaderSize(io.LimitReader(r, maxBytes), 64<<10)
	var header bytes.Buffer
	cfg, err := d.config(io.TeeReader(br, &header))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Result{}, fmt.Errorf("%w: %d×%d pixels", ErrNotImage, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return Result{}, fmt.Errorf("%w: %d×%d is over %d", ErrTooManyPixels, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	img, err := d.decode(io.MultiReader(&header, br))
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	// A GIF's first frame may cover part of its canvas, never more.
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || b.Dx() > cfg.Width || b.Dy() > cfg.Height {
		return Result{}, fmt.Errorf("%w: header says %d×%d, pixels are %d×%d", ErrNotImage, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	tw, th := fit(b.Dx(), b.Dy(), lim.Box)
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)

	res := Result{Width: cfg.Width, Height: cfg.Height, ThumbWidth: tw, ThumbHeight: th}
	var out bytes.Buffer
	res.ThumbType = ThumbType(contentType)
	if res.ThumbType == JPEG {
		// Photos stay photos: JPEG is a tenth of PNG's size for them and they have no alpha.
		err = jpeg.Encode(&out, dst, &jpeg.Options{Quality: 82})
	} else {
		err = png.Encode(&out, dst)
	}
	if err != nil {
		return Result{}, fmt.Errorf("thumbnail: encode: %w", err)
	}
	res.Thumb = out.Bytes()
	return res, nil
}

// fit scales w×h down (never up) to fit a box×box square, keeping the aspect ratio and
// at least one pixel per side.
func fit(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, int(int64(h)*int64(box)/int64(w)))
	}
	return max(1, int(int64(w)*int64(box)/int64(h))), box
}

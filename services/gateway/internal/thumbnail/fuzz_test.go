package thumbnail

import (
	"bytes"
	"image"
	"testing"
)

// FuzzMake feeds arbitrary bytes, as any of the image types, to the path every uploaded
// image takes. Whatever happens must be an error or a thumbnail within the box of an
// image within the pixel limit, never a panic or a runaway allocation.
func FuzzMake(f *testing.F) {
	types := []string{PNG, JPEG, GIF, WebP}
	f.Add(uint8(0), encoded(f, PNG, picture(30, 20)))
	f.Add(uint8(1), encoded(f, JPEG, picture(20, 30)))
	f.Add(uint8(2), encoded(f, GIF, picture(5, 5)))
	f.Add(uint8(3), tinyWebP)
	f.Add(uint8(0), bombPNG(100_000, 100_000))
	f.Add(uint8(1), []byte("\xff\xd8\xff"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		contentType := types[int(kind)%len(types)]
		lim := Limits{MaxPixels: 1_000_000, Box: 32}
		res, err := Make(bytes.NewReader(data), contentType, 1<<20, lim)
		if err != nil {
			return
		}
		if int64(res.Width)*int64(res.Height) > lim.MaxPixels || res.Width <= 0 || res.Height <= 0 {
			t.Fatalf("accepted a %d×%d image", res.Width, res.Height)
		}
		if res.ThumbWidth > lim.Box || res.ThumbHeight > lim.Box || res.ThumbWidth <= 0 || res.ThumbHeight <= 0 {
			t.Fatalf("thumbnail is %d×%d", res.ThumbWidth, res.ThumbHeight)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(res.Thumb))
		if err != nil || cfg.Width != res.ThumbWidth || cfg.Height != res.ThumbHeight {
			t.Fatalf("thumbnail decodes as %+v, %v", cfg, err)
		}
	})
}

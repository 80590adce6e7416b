// Package thumbnail checks uploaded images and makes their previews, in pure Go: PNG,
// JPEG and GIF with the standard library, WebP with golang.org/x/image.
//
// An image file can promise far more pixels than its bytes suggest (a decompression
// bomb: a few kilobytes of PNG that decode to gigabytes), so the header is read first and
// an image of more than the allowed pixels is refused before a single pixel is decoded.
// The decoded image is then scaled to fit a square box and encoded as PNG (images that
// may be transparent) or JPEG (photos).
package thumbnail

package thumbnail

// ThumbType returns the media type of the thumbnail of an image of contentType: JPEG for
// JPEG photos, PNG (which keeps transparency) for the rest.
func ThumbType(contentType string) string {
	if contentType == JPEG {
		return JPEG
	}
	return PNG
}

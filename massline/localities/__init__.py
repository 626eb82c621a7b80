"""The administrative tree of China: provinces, prefectures, counties."""

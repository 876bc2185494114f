import PostgresNIO
public enum _PlaceholderP {}

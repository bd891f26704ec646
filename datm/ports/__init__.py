"""What datm's services need from outside, as abstract ports. Imports only the domain."""

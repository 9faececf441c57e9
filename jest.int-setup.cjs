// Integration and end-to-end tests talk to real services: give them room, and fail with a message.
jest.setTimeout(60_000);

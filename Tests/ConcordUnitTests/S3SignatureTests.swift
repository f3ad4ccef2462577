import ConcordStorage
@testable import ConcordTiering
import Foundation
import Testing

/// Signature Version 4 against the examples AWS publishes for S3 (the same key pair, date and
/// requests), and the few XML values the object store reads.
@Suite("S3 signatures (pure logic)")
struct S3SignatureTests {
    let signer = S3Signature(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
    let host = ("host", "examplebucket.s3.amazonaws.com")
    let date = ("x-amz-date", "20130524T000000Z")

    @Test func aRangedGetIsSignedAsAWSSigns() {
        let header = signer.authorization(method: "GET", path: "/test.txt", query: [],
                                          headers: [host, ("range", "bytes=0-9"), ("x-amz-content-sha256", S3Signature.emptyPayloadHash), date])
        #expect(header == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func aPutWithABodyIsSignedAsAWSSigns() {
        let body = Data("Welcome to Amazon S3.".utf8)
        #expect(ArchiveCompression.sha256(body) == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let header = signer.authorization(method: "PUT", path: "/" + S3Signature.uriEncode("test$file.text", keepSlash: true), query: [],
                                          headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), host,
                                                    ("x-amz-content-sha256", ArchiveCompression.sha256(body)), date,
                                                    ("x-amz-storage-class", "REDUCED_REDUNDANCY")])
        #expect(header.hasSuffix("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
                                 + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    @Test func aListingsQueryIsSortedAndEncodedAsAWSSigns() {
        let header = signer.authorization(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                          headers: [host, ("x-amz-content-sha256", S3Signature.emptyPayloadHash), date])
        #expect(header.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"))
        // Any change to what is signed changes the signature.
        let other = signer.authorization(method: "GET", path: "/", query: [("prefix", "K"), ("max-keys", "2")],
                                         headers: [host, ("x-amz-content-sha256", S3Signature.emptyPayloadHash), date])
        #expect(other != header)
    }

    @Test func encodingKeepsOnlyUnreservedCharacters() {
        #expect(S3Signature.uriEncode("a b/c~d_e.f-g") == "a%20b%2Fc~d_e.f-g")
        #expect(S3Signature.uriEncode("cell-a/blobs/ab", keepSlash: true) == "cell-a/blobs/ab")
        #expect(S3Signature.uriEncode("é") == "%C3%A9")
        #expect(S3Signature.timestamp(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }

    @Test func listingsAreReadFromTheirXML() {
        let page = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>c/blobs/ab</Key></Contents>"
            + "<Contents><Key>c/blobs/a&amp;b</Key></Contents><NextContinuationToken>t/1=</NextContinuationToken></ListBucketResult>"
        #expect(S3XML.values(of: "Key", in: page) == ["c/blobs/ab", "c/blobs/a&b"])
        #expect(S3XML.values(of: "NextContinuationToken", in: page) == ["t/1="])
        #expect(S3XML.values(of: "Code", in: page).isEmpty)
    }
}
